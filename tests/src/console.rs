//! Drives the real `ferry console`: [`ConsoleProcess`] writes a `console.toml`, starts the
//! console on a free port (or a given one, to restart "the same" console), and calls its
//! API over plain HTTP/1.1 with the token and the CSRF header a page sends.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    process::{Child, Command},
};

use crate::{assert_eventually, ferry::ferry_bin};

/// The operators' token of the test consoles.
pub const TOKEN: &str = "console-api-test-token-0123456789";

/// A running `ferry console`.
pub struct ConsoleProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
    config_path: PathBuf,
}

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- stderr of ferry console ----\n{}", self.stderr());
        }
    }
}

/// An HTTP answer: status and JSON body (`Value::Null` when it is not JSON).
pub type Answer = (u16, Value);

impl ConsoleProcess {
    /// Writes `config` (TOML, without `listen`) into `dir` and starts the console on
    /// 127.0.0.1:`port` (0: a free one).
    pub async fn start(dir: &Path, config: &str, port: u16) -> Self {
        let path = dir.join("console.toml");
        std::fs::write(&path, format!("listen = \"127.0.0.1:{port}\"\n{config}")).unwrap();
        let mut child = Command::new(ferry_bin())
            .args(["console", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let text = || stderr.lock().unwrap().clone();
        assert_eventually!(
            // The whole line: stderr may arrive in pieces.
            text()
                .split("ferry console: http://")
                .nth(1)
                .is_some_and(|rest| rest.contains('\n'))
                || matches!(child.try_wait(), Ok(Some(_))),
            "the console did not start: {}",
            text()
        );
        let line = text();
        let base = line
            .split("ferry console: http://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ', '\n']).next())
            .map(|host| format!("http://{host}"))
            .unwrap_or_default();
        assert!(base.starts_with("http://"), "the console exited: {line}");
        let port = base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {base:?}: {line}"));
        Self {
            child,
            base,
            port,
            stderr,
            config_path: path,
        }
    }

    /// What the console wrote on stderr.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Kills the console at once (SIGKILL), as a crash would.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// `GET path` with the token.
    pub async fn get(&self, path: &str) -> Answer {
        self.raw(
            "GET",
            path,
            &[("authorization", &format!("Bearer {TOKEN}"))],
            "",
        )
        .await
    }

    /// A change, as the page sends it: token, CSRF header, actor `api-test`.
    pub async fn send(&self, method: &str, path: &str, body: &Value) -> Answer {
        let auth = format!("Bearer {TOKEN}");
        let headers = [
            ("authorization", auth.as_str()),
            ("x-ferry-csrf", "1"),
            ("x-ferry-actor", "api-test"),
            ("content-type", "application/json"),
        ];
        self.raw(method, path, &headers, &body.to_string()).await
    }

    /// Any request, with exactly these headers.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        s.write_all(body.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (code, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A `ferry console` config: the test token, its state in `dir`, queues read every 200 ms,
/// and the sidecars' `[backend.<kind>]` section `backend_toml` configured as backend `name`.
pub fn console_config(dir: &Path, name: &str, backend_toml: &str) -> String {
    let backend = backend_toml.replacen("[backend.", &format!("[backends.{name}."), 1);
    format!(
        "token = \"{TOKEN}\"\nstate = {:?}\nqueue_refresh = \"200ms\"\n{backend}",
        dir.join("console.db").display().to_string()
    )
}

/// The `[console]` section of a sidecar reporting to `console`, beating every 200 ms.
pub fn sidecar_toml(console: &ConsoleProcess) -> String {
    format!(
        "[console]\nurl = \"{}\"\ntoken = \"{TOKEN}\"\nheartbeat_interval = \"200ms\"\npaused_realm_delay = \"200ms\"\n",
        console.base
    )
}
