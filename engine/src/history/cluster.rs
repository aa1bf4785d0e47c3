//! Grouping messages by what they ask: each message a unit vector (the sentence encoder's
//! embedding where it reads the language, else its analysed words hashed into a fixed number of
//! dimensions and weighted by rarity), grouped by one pass that puts each message with the most
//! similar group when the cosine reaches a threshold, then two rounds that move each message to
//! the group it is now closest to (k-means on the sphere, seeded by the pass).

use std::collections::HashMap;

/// Dimensions words are hashed into when there is no embedding.
pub const HASHED_DIM: usize = 2048;

/// Rounds of moving messages to their closest group after the first pass.
const ROUNDS: usize = 2;

/// The group of each vector (`0..groups`), numbered in order of first appearance.
pub fn cluster(vectors: &[Vec<f32>], threshold: f32) -> Vec<usize> {
    let mut centres: Vec<Vec<f32>> = Vec::new();
    let mut assigned = Vec::with_capacity(vectors.len());
    for v in vectors {
        let best = nearest(v, &centres).filter(|(_, likeness)| *likeness >= threshold);
        match best {
            Some((g, _)) => {
                add(&mut centres[g], v);
                assigned.push(g);
            }
            None => {
                centres.push(v.clone());
                assigned.push(centres.len() - 1);
            }
        }
    }
    for _ in 0..ROUNDS {
        let directions: Vec<Vec<f32>> = centres.iter().map(|c| unit(c.clone())).collect();
        for (v, group) in vectors.iter().zip(assigned.iter_mut()) {
            if let Some((g, _)) = nearest(v, &directions) {
                *group = g;
            }
        }
        centres = vec![vec![0.0; vectors.first().map_or(0, Vec::len)]; centres.len()];
        for (v, &g) in vectors.iter().zip(&assigned) {
            add(&mut centres[g], v);
        }
    }
    renumber(&assigned)
}

/// The group closest to `v` and its cosine (centres are compared by direction).
fn nearest(v: &[f32], centres: &[Vec<f32>]) -> Option<(usize, f32)> {
    centres
        .iter()
        .enumerate()
        .map(|(g, c)| {
            let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt();
            let dot: f32 = v.iter().zip(c).map(|(a, b)| a * b).sum();
            (g, if norm > 0.0 { dot / norm } else { 0.0 })
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn add(centre: &mut [f32], v: &[f32]) {
    centre.iter_mut().zip(v).for_each(|(c, x)| *c += x);
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Groups numbered by first appearance, emptied ones dropped.
fn renumber(assigned: &[usize]) -> Vec<usize> {
    let mut names: HashMap<usize, usize> = HashMap::new();
    assigned
        .iter()
        .map(|g| {
            let next = names.len();
            *names.entry(*g).or_insert(next)
        })
        .collect()
}

/// Unit vectors of analysed words (`bags`, one per message), hashed into [`HASHED_DIM`]
/// dimensions and weighted by inverse document frequency among them.
pub fn hashed(bags: &[Vec<String>]) -> Vec<Vec<f32>> {
    let mut df: HashMap<&str, f32> = HashMap::new();
    for bag in bags {
        let mut seen: Vec<&str> = bag.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for w in seen {
            *df.entry(w).or_default() += 1.0;
        }
    }
    let n = bags.len().max(1) as f32;
    bags.iter()
        .map(|bag| {
            let mut v = vec![0.0; HASHED_DIM];
            for w in bag {
                let weight = 1.0 + (n / df.get(w.as_str()).copied().unwrap_or(1.0)).ln();
                v[bucket(w)] += weight;
            }
            unit(v)
        })
        .collect()
}

/// A word's dimension: FNV-1a, stable across runs and builds.
fn bucket(word: &str) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in word.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % HASHED_DIM as u64) as usize
}

/// How well `found` groups agree with `truth` labels: the adjusted Rand index (1 identical,
/// about 0 no better than chance) and purity (the share of messages in their group's most
/// common label).
pub fn agreement(found: &[usize], truth: &[String]) -> (f64, f64) {
    let n = found.len();
    if n < 2 || truth.len() != n {
        return (0.0, 0.0);
    }
    let mut table: HashMap<(usize, &str), u64> = HashMap::new();
    let mut groups: HashMap<usize, u64> = HashMap::new();
    let mut labels: HashMap<&str, u64> = HashMap::new();
    for (g, t) in found.iter().zip(truth) {
        *table.entry((*g, t.as_str())).or_default() += 1;
        *groups.entry(*g).or_default() += 1;
        *labels.entry(t.as_str()).or_default() += 1;
    }
    let pairs = |x: u64| (x * x.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.values().map(|&x| pairs(x)).sum();
    let a: f64 = groups.values().map(|&x| pairs(x)).sum();
    let b: f64 = labels.values().map(|&x| pairs(x)).sum();
    let all = pairs(n as u64);
    let expected = a * b / all;
    let max = (a + b) / 2.0;
    let ari = if (max - expected).abs() < f64::EPSILON { 1.0 } else { (index - expected) / (max - expected) };
    let mut best: HashMap<usize, u64> = HashMap::new();
    for ((g, _), count) in &table {
        let b = best.entry(*g).or_default();
        *b = (*b).max(*count);
    }
    let purity = best.values().sum::<u64>() as f64 / n as f64;
    (ari, purity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(words: &str) -> Vec<String> {
        words.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn messages_sharing_words_group_together_and_others_apart() {
        let bags = [
            bag("gift card sell"),
            bag("deliveri address chang"),
            bag("gift card work"),
            bag("sock size"),
            bag("chang address"),
            bag("buy gift card"),
        ];
        let found = cluster(&hashed(&bags), 0.3);
        assert_eq!(found, [0, 1, 0, 2, 1, 0]);
    }

    #[test]
    fn agreement_is_one_for_the_same_grouping_and_lower_for_a_worse_one() {
        let truth: Vec<String> = ["a", "a", "b", "b", "c", "c"].iter().map(|s| s.to_string()).collect();
        let (ari, purity) = agreement(&[5, 5, 1, 1, 9, 9], &truth);
        assert!((ari - 1.0).abs() < 1e-9 && (purity - 1.0).abs() < 1e-9, "names do not matter");
        let (worse, purity) = agreement(&[0, 0, 0, 0, 1, 1], &truth);
        assert!(worse < 1.0 && worse > 0.0, "{worse}");
        assert!((purity - 4.0 / 6.0).abs() < 1e-9);
        let (all_apart, purity) = agreement(&[0, 1, 2, 3, 4, 5], &truth);
        assert!(all_apart.abs() < 1e-9, "singletons agree only by chance: {all_apart}");
        assert!((purity - 1.0).abs() < 1e-9, "and are trivially pure: why the group count is reported too");
    }
}
