//! Outages on purpose, for the fault matrix (tests/faults.rs): a loopback TCP proxy that can cut a
//! service off (the SQS server down, as the functions see it), and a DynamoDB Local of the test's
//! own, on disk, that can be killed and started again with its data.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// A TCP proxy to `upstream`. While down, new connections are closed at once and open ones are
/// cut, as when the server behind it is gone.
pub struct Proxy {
    /// `http://127.0.0.1:port`.
    pub url: String,
    down: watch::Sender<bool>,
}

impl Proxy {
    /// Starts on a random loopback port, up.
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (down, watcher) = watch::channel(false);
        let upstream = Arc::new(upstream);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if *watcher.borrow() {
                    drop(client);
                    continue;
                }
                let (upstream, mut cut) = (upstream.clone(), watcher.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream.as_str()).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        Self { url, down }
    }

    /// Cuts the service off, or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
}

/// A DynamoDB Local of this test's own (the jar `scripts/local-aws.sh` installs), keeping its
/// tables in a directory so a restart finds them, as DynamoDB's own outage would.
pub struct DynamoDbProcess {
    /// `http://127.0.0.1:port`.
    pub url: String,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl DynamoDbProcess {
    /// Starts on a free port with an empty database, and waits until it answers.
    pub async fn start() -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("addr").port()
        };
        let dir = std::env::temp_dir().join(format!("sb-dynamodb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("the database directory");
        let mut process = Self { url: format!("http://127.0.0.1:{port}"), port, dir, child: None };
        process.restart().await;
        process
    }

    /// Kills the process (SIGKILL: no shutdown of its own) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill DynamoDB Local");
        }
    }

    /// Starts the process on the same port and database, and waits until it answers.
    pub async fn restart(&mut self) {
        let emulator = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.local/dynamodb/package/emulator");
        assert!(
            emulator.join("DynamoDBLocal.jar").is_file(),
            "DynamoDB Local is not installed: run the tests with scripts/test.sh (scripts/local-aws.sh installs it)"
        );
        let child = Command::new("java")
            .current_dir(&emulator)
            .args(["-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-sharedDb"])
            .arg("-dbPath")
            .arg(&self.dir)
            .args(["-port", &self.port.to_string(), "-disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start java");
        self.child = Some(child);
        for _ in 0..300 {
            if TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("DynamoDB Local did not come up on port {}", self.port);
    }
}

impl Drop for DynamoDbProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
