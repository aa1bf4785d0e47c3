//! The function reads its configuration at cold start and refuses to start without it.

#[test]
fn a_missing_table_variable_stops_the_cold_start_with_its_name() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inbound"))
        .env_remove("SWITCHBOARD_TABLE")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("the function binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("environment variable SWITCHBOARD_TABLE: not set"), "{stderr}");
}
