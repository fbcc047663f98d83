//! A real NATS broker for the relay's tests: Debian's `nats-server` with
//! JetStream, on a free loopback port, its store in a temporary directory,
//! killed when dropped. Missing outside CI, the test says what to install
//! and is skipped; in CI (`CI` set) a missing broker is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NatsServer {
    child: Child,
    pub port: u16,
    pub store: PathBuf,
}

impl NatsServer {
    /// Starts a broker storing under `dir`, or `None` (skipped) when the
    /// program is missing outside CI.
    pub fn start(test: &str, dir: &Path) -> Option<NatsServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(test, dir, port)
    }

    /// The same on `port` (a broker restarted where clients look for it).
    pub fn start_on(test: &str, dir: &Path, port: u16) -> Option<NatsServer> {
        Self::start_with(test, dir, port, None, &[])
    }

    /// With a configuration file (its port and store overridden) and
    /// environment for it.
    pub fn start_with(
        test: &str,
        dir: &Path,
        port: u16,
        config: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Option<NatsServer> {
        let program = [
            "nats-server",
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
        ]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok());
        let Some(program) = program else {
            let how = "install Debian's nats-server (apt-get install nats-server)";
            if std::env::var_os("CI").is_some() {
                panic!("{test}: nats-server is missing in CI: {how}");
            }
            eprintln!("skipped {test}: nats-server is missing ({how})");
            return None;
        };
        let store = dir.join("nats-store");
        let mut command = Command::new(program);
        if let Some(config) = config {
            command.arg("-c").arg(config);
        }
        let child = command
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let server = NatsServer { child, port, store };
        server.wait_ready();
        Some(server)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("nats://127.0.0.1:{}", self.port)).unwrap()
    }

    /// `kill -9`: the broker goes without a word.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
