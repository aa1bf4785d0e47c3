//! The encoder's one expensive operation: `x · Wᵀ + b` with `W` in 4-bit blocks (Q4_0, read in
//! place from the mapped file), written for a few rows at a time: a customer message is 10–30
//! tokens, so the work is reading each weight once, as floats for a group of rows, and using it
//! for every token while it is in cache — not packing matrices for a GEMM.

use crate::pack::{BLOCK, Blocks};

/// The tokens' values, one row of `cols` each (they were quantised in a first version: now
/// floats).
pub(crate) struct Tokens<'a> {
    cols: usize,
    x: &'a [f32],
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(x: &'a [f32], cols: usize) -> Self {
        Self { cols, x }
    }

    fn rows(&self) -> usize {
        self.x.len() / self.cols
    }
}

/// Weight rows unpacked at a time: their 4-bit values become floats once and serve every token.
const ROWS: usize = 4;
/// Tokens multiplied together: each weight loaded serves three tokens, each token's values
/// loaded serve four rows — 12 independent running sums, enough to keep the multiply-add units
/// busy rather than waiting on loads.
const TOKENS: usize = 3;
/// Lanes of a vector register of f32 (AVX2: 8; NEON: 4, used twice per step).
const LANES: usize = 8;

/// `x · Wᵀ + b`: `weights` holds `bias.len()` rows of `x.cols` values in `kind` blocks.
pub(crate) fn linear(x: &Tokens, weights: &[u8], kind: Blocks, bias: &[f32]) -> Vec<f32> {
    let (n, cols, out_dim) = (x.rows(), x.cols, bias.len());
    let row_bytes = cols / BLOCK * kind.bytes();
    assert_eq!(weights.len(), out_dim * row_bytes, "weight matrix size");
    assert!(cols.is_multiple_of(LANES), "row width");
    let mut y = vec![0.0f32; n * out_dim];
    // In a last group short of ROWS rows, the rows past the matrix's end hold the previous group's
    // values; their sums are never written out.
    let mut unpacked = vec![0.0f32; ROWS * cols];
    let token = |t: usize| &x.x[t.min(n - 1) * cols..(t.min(n - 1) + 1) * cols];
    for first in (0..out_dim).step_by(ROWS) {
        let rows = ROWS.min(out_dim - first);
        for r in 0..rows {
            let packed = &weights[(first + r) * row_bytes..(first + r + 1) * row_bytes];
            unpack_row(packed, kind, &mut unpacked[r * cols..(r + 1) * cols]);
        }
        // The last group repeats the last token where it runs short; those sums are dropped.
        for t0 in (0..n).step_by(TOKENS) {
            let sums = dot_rows(&unpacked, std::array::from_fn(|i| token(t0 + i)));
            for (i, sums) in sums.iter().enumerate().take(n - t0) {
                for r in 0..rows {
                    y[(t0 + i) * out_dim + first + r] = bias[first + r] + sums[r];
                }
            }
        }
    }
    y
}

/// One row of blocks as floats.
pub(crate) fn unpack_row(row: &[u8], kind: Blocks, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, all `unpack_row_avx2` requires.
        return unsafe { unpack_row_avx2(row, kind, out) };
    }
    unpack_row_portable(row, kind, out)
}

/// Eight values at a time: bytes widened to 32-bit integers, offset, converted and scaled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn unpack_row_avx2(row: &[u8], kind: Blocks, out: &mut [f32]) {
    use std::arch::x86_64::*;
    assert!(row.len() / kind.bytes() * BLOCK <= out.len(), "row size");
    for (block, out) in row.chunks_exact(kind.bytes()).zip(out.chunks_exact_mut(BLOCK)) {
        let scale = _mm256_set1_ps(f16_to_f32(u16::from_le_bytes([block[0], block[1]])));
        let values = block[2..].as_ptr();
        let out = out.as_mut_ptr();
        // SAFETY (loads and stores): a Q4 block has 16 bytes after its scale and a Q8 block 32,
        // and `out` holds the block's 32 floats.
        unsafe {
            match kind {
                Blocks::Q4 => {
                    let bytes = _mm_loadu_si128(values.cast());
                    let mask = _mm_set1_epi8(0x0f);
                    let low = _mm_and_si128(bytes, mask);
                    let high = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
                    let eight = _mm256_set1_epi32(8);
                    for (i, half) in [low, high].into_iter().enumerate() {
                        for part in 0..2 {
                            let lanes = if part == 0 { half } else { _mm_srli_si128(half, 8) };
                            let ints = _mm256_sub_epi32(_mm256_cvtepu8_epi32(lanes), eight);
                            _mm256_storeu_ps(
                                out.add(i * 16 + part * 8),
                                _mm256_mul_ps(_mm256_cvtepi32_ps(ints), scale),
                            );
                        }
                    }
                }
                Blocks::Q8 => {
                    for part in 0..4 {
                        let lanes = _mm_loadl_epi64(values.add(part * 8).cast());
                        let ints = _mm256_cvtepi8_epi32(lanes);
                        _mm256_storeu_ps(out.add(part * 8), _mm256_mul_ps(_mm256_cvtepi32_ps(ints), scale));
                    }
                }
            }
        }
    }
}

/// This runs over every weight of the model for every message: as scalar code it took as long
/// as the products themselves, hence the AVX2 version above.
#[inline(always)]
fn unpack_row_portable(row: &[u8], kind: Blocks, out: &mut [f32]) {
    for (block, out) in row.chunks_exact(kind.bytes()).zip(out.chunks_exact_mut(BLOCK)) {
        let scale = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let out: &mut [f32; BLOCK] = out.try_into().expect("a block");
        match kind {
            Blocks::Q4 => {
                // Byte j holds value j in its low nibble and value j + 16 in its high one; each
                // is stored plus 8.
                let bytes: &[u8; BLOCK / 2] = block[2..].try_into().expect("a Q4 block");
                let (low, high) = out.split_at_mut(BLOCK / 2);
                for j in 0..BLOCK / 2 {
                    low[j] = (i32::from(bytes[j] & 0x0f) - 8) as f32 * scale;
                    high[j] = (i32::from(bytes[j] >> 4) - 8) as f32 * scale;
                }
            }
            Blocks::Q8 => {
                let bytes: &[u8; BLOCK] = block[2..].try_into().expect("a Q8 block");
                for j in 0..BLOCK {
                    out[j] = f32::from(bytes[j] as i8) * scale;
                }
            }
        }
    }
}

/// IEEE half to single precision: the scales of the blocks (normal numbers, zero and
/// subnormals; the packer never writes infinities or NaN). Inline bit arithmetic: the `half`
/// crate's conversion checks the CPU on every call, a call per block of 32 weights.
#[inline(always)]
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f32::from(h & 0x3ff);
    if exponent == 0 {
        sign * mantissa * (1.0 / 16_777_216.0)
    } else {
        sign * (1.0 + mantissa / 1024.0) * f32::from_bits(((exponent - 15 + 127) as u32) << 23)
    }
}

/// The dot products of [`ROWS`] rows of `w` (row-major, each as wide as a token) with
/// [`TOKENS`] tokens' values. Written with the CPU's vector instructions, because the compiler's
/// own vectorisation of this loop kept the sums in memory (three times slower).
fn dot_rows(w: &[f32], x: [&[f32]; TOKENS]) -> [[f32; ROWS]; TOKENS] {
    let cols = x[0].len();
    assert!(w.len() == ROWS * cols && cols.is_multiple_of(LANES) && x.iter().all(|t| t.len() == cols), "tile shape");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, and the assert above keeps every load inside `w`/`x`.
        return unsafe { dot_rows_avx2(w, x) };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: NEON is part of the aarch64 baseline, and the assert above keeps every load
        // inside `w` and `x`.
        return unsafe { dot_rows_neon(w, x) };
    }
    #[allow(unreachable_code)]
    x.map(|t| std::array::from_fn(|r| w[r * cols..(r + 1) * cols].iter().zip(t).map(|(a, b)| a * b).sum()))
}

// Indexed loops over constant bounds: unrolled, they keep the 12 sums in registers.
#[allow(clippy::needless_range_loop)]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_rows_avx2(w: &[f32], x: [&[f32]; TOKENS]) -> [[f32; ROWS]; TOKENS] {
    use std::arch::x86_64::*;
    let cols = x[0].len();
    let w = w.as_ptr();
    let x = x.map(<[f32]>::as_ptr);
    let mut acc = [[_mm256_setzero_ps(); ROWS]; TOKENS];
    let mut c = 0;
    while c < cols {
        // SAFETY (all loads): c + 8 <= cols, row r's values are w[r * cols..(r + 1) * cols],
        // and each token has `cols` values.
        let xv = x.map(|t| unsafe { _mm256_loadu_ps(t.add(c)) });
        for r in 0..ROWS {
            let wv = unsafe { _mm256_loadu_ps(w.add(r * cols + c)) };
            for t in 0..TOKENS {
                acc[t][r] = _mm256_fmadd_ps(wv, xv[t], acc[t][r]);
            }
        }
        c += LANES;
    }
    acc.map(|rows| {
        rows.map(|a| {
            let mut lanes = [0.0f32; LANES];
            // SAFETY: `lanes` holds exactly one vector.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
            lanes.iter().sum()
        })
    })
}

#[allow(clippy::needless_range_loop)]
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn dot_rows_neon(w: &[f32], x: [&[f32]; TOKENS]) -> [[f32; ROWS]; TOKENS] {
    use std::arch::aarch64::*;
    let cols = x[0].len();
    let w = w.as_ptr();
    let x = x.map(<[f32]>::as_ptr);
    let mut acc = [[vdupq_n_f32(0.0); ROWS]; TOKENS];
    let mut c = 0;
    while c < cols {
        // SAFETY (all loads): c + 4 <= cols, row r's values are w[r * cols..(r + 1) * cols],
        // and each token has `cols` values. Four lanes a step here (one NEON register).
        let xv = x.map(|t| unsafe { vld1q_f32(t.add(c)) });
        for r in 0..ROWS {
            let wv = unsafe { vld1q_f32(w.add(r * cols + c)) };
            for t in 0..TOKENS {
                acc[t][r] = vfmaq_f32(acc[t][r], wv, xv[t]);
            }
        }
        c += 4;
    }
    acc.map(|rows| rows.map(|a| vaddvq_f32(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One Q4_0 row from values that are already multiples of the scale.
    fn block_row(values: &[f32], scale: f32) -> Vec<u8> {
        let mut out = Vec::new();
        for block in values.chunks_exact(BLOCK) {
            out.extend_from_slice(&half::f16::from_f32(scale).to_le_bytes());
            for j in 0..16 {
                let q = |v: f32| ((v / scale).round() as i32 + 8) as u8;
                out.push(q(block[j]) | q(block[j + 16]) << 4);
            }
        }
        out
    }

    /// The vector unpacking gives what the plain loops give, for both kinds of block.
    #[test]
    fn unpacking_is_the_same_on_every_path() {
        let row: Vec<u8> = (0..Blocks::Q8.bytes() * 3).map(|i| (i * 37 % 251) as u8).collect();
        for kind in [Blocks::Q4, Blocks::Q8] {
            let row = &row[..kind.bytes() * 3];
            let (mut fast, mut plain) = (vec![0.0f32; 3 * BLOCK], vec![0.0f32; 3 * BLOCK]);
            unpack_row(row, kind, &mut fast);
            unpack_row_portable(row, kind, &mut plain);
            assert_eq!(fast, plain, "{kind:?}");
        }
    }

    #[test]
    fn half_precision_scales_convert_exactly() {
        for v in [0.0f32, 1.0, -2.5, 0.000_123_4, 6.1e-5, 3.0e-7, 65504.0, -0.25] {
            let h = half::f16::from_f32(v);
            assert_eq!(f16_to_f32(h.to_bits()), h.to_f32(), "{v}");
        }
    }

    #[test]
    fn matches_the_float_product() {
        let cols = 64;
        let rows: Vec<Vec<f32>> =
            (0..11).map(|r| (0..cols).map(|c| (((r * 7 + c * 3) % 16) as f32 - 8.0) * 0.25).collect()).collect();
        let weights: Vec<u8> = rows.iter().flat_map(|row| block_row(row, 0.25)).collect();
        let bias: Vec<f32> = (0..rows.len()).map(|r| r as f32 * 0.1).collect();
        let x: Vec<f32> = (0..3 * cols).map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0).collect();
        let y = linear(&Tokens::new(&x, cols), &weights, Blocks::Q4, &bias);
        for t in 0..3 {
            for (r, row) in rows.iter().enumerate() {
                let exact: f32 = bias[r] + row.iter().zip(&x[t * cols..]).map(|(a, b)| a * b).sum::<f32>();
                let got = y[t * rows.len() + r];
                assert!((got - exact).abs() < 1e-4 * exact.abs().max(1.0), "row {r} token {t}: {got} vs {exact}");
            }
        }
    }
}
