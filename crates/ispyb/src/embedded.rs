//! A private MariaDB for the demo: its own datadir and socket under a project folder, no TCP
//! port, never touching a system server. Stopped with `SHUTDOWN` when the demo ends.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// A running private server.
pub struct EmbeddedMariaDb {
    child: Child,
    socket: PathBuf,
}

/// Finds a program on PATH or in the sbin folders Debian installs servers into.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

const MISSING: &str = "is not installed: on Debian run `apt-get install -y mariadb-server` (as root)";

impl EmbeddedMariaDb {
    /// Starts (initialising the datadir on first use) a server under `dir`.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let mariadbd = find("mariadbd").or_else(|| find("mysqld")).with_context(|| format!("mariadbd {MISSING}"))?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let datadir = dir.join("data");
        let socket = dir.join("mariadb.sock");
        let is_root = std::env::var("USER").map(|u| u == "root").unwrap_or(false)
            || Path::new("/root").exists() && std::env::var("HOME").map(|h| h == "/root").unwrap_or(false);
        if !datadir.join("mysql").is_dir() {
            let install = find("mariadb-install-db")
                .or_else(|| find("mysql_install_db"))
                .with_context(|| format!("mariadb-install-db {MISSING}"))?;
            let mut cmd = Command::new(install);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", datadir.display()))
                .arg("--auth-root-authentication-method=normal")
                .arg("--skip-test-db");
            if is_root {
                cmd.arg("--user=root");
            }
            let out = cmd.output().await.context("running mariadb-install-db")?;
            if !out.status.success() {
                bail!(
                    "mariadb-install-db failed: {}",
                    String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
                );
            }
        }
        let _ = std::fs::remove_file(&socket);
        let mut cmd = Command::new(mariadbd);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--log-error={}", dir.join("mariadb.err").display()))
            .arg("--skip-networking")
            .arg("--skip-log-bin")
            .arg("--innodb-buffer-pool-size=512M")
            .arg("--innodb-flush-log-at-trx-commit=2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if is_root {
            cmd.arg("--user=root");
        }
        let child = cmd.spawn().context("starting mariadbd")?;
        let mut server = Self { child, socket };
        for _ in 0..120 {
            if let Some(status) = server.child.try_wait()? {
                bail!("mariadbd exited ({status}); see {}", dir.join("mariadb.err").display());
            }
            if ispyb_db::connect(&server.url(""), &Default::default()).await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("mariadbd did not accept connections within 30 s; see {}", dir.join("mariadb.err").display())
    }

    /// URL of a database on this server (empty name: no database).
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@localhost/{database}?socket={}", self.socket.display())
    }

    /// Shuts the server down cleanly and waits for it.
    pub async fn stop(mut self) {
        if let Ok(db) = ispyb_db::connect(&self.url(""), &Default::default()).await {
            let _ = ispyb_db::shutdown_server(&db).await;
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}
