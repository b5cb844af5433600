//! The node's web listener as a real process started from a region bundle: HTTPS with the
//! bundle's web certificate (trusted through the region CA only), HSTS and a Secure session
//! cookie; plain HTTP to the HTTPS port redirected; a name the certificate does not carry
//! refused by the client; and starts that must fail, naming what to fix: a missing key file, a
//! non-loopback listen address without HTTPS.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use provisioning::progress::Silent;
use provisioning::settings::WebNames;
use rand::rngs::OsRng;
use serde_json::json;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use common::{ast_region_settings, free_port, test_ca, until};

const DEADLINE: Duration = Duration::from_secs(30);
const ADMIN_PASSWORD: &str = "Https-Test-Admin-Passw0rd-2026";

/// A CA and a region bundle whose web certificate names 127.0.0.1 only.
fn bundle(root: &Path) -> PathBuf {
    let ca = test_ca(root);
    let now = OffsetDateTime::now_utc();
    let region = root.join("ast");
    let rs = ast_region_settings();
    let options = provisioning::RegionOptions {
        reference: None,
        web: Some(WebNames::new(vec![], vec!["127.0.0.1".parse().unwrap()]).unwrap()),
    };
    provisioning::add_region_with_options(
        &ca,
        &region,
        &rs,
        &options,
        now,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    region
}

fn node(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_node"))
        .args(args)
        .env("NODE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("NODE_CONFIG")
        .env_remove("NODE_BUNDLE")
        .env_remove("NODE_DATA")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// A start that must fail: its exit status and everything it printed.
async fn failed_start(args: &[&str]) -> String {
    let out = tokio::time::timeout(DEADLINE, node(args).wait_with_output())
        .await
        .expect("the node exits")
        .unwrap();
    assert!(!out.status.success(), "the node must not start");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn client_trusting(ca: &Path) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Sends `request` as raw bytes to `addr` and returns the whole answer.
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut answer))
        .await
        .expect("the node answers and closes")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_over_https_with_the_bundle_certificate_and_plain_http_is_redirected()
{
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let data = dir.path().join("data");
    let _node = node(&[
        "serve",
        "--bundle",
        bundle.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--listen",
        &addr.to_string(),
    ]);
    let http = client_trusting(&bundle.join("ca.crt"));
    let base = format!("https://{addr}");
    until(DEADLINE, "the node answers over HTTPS", || async {
        matches!(http.get(format!("{base}/healthz")).send().await, Ok(r) if r.status() == 200)
    })
    .await;

    // HSTS on every answer, and a Secure session cookie.
    let console = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(console.status(), 200);
    let hsts = console.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(hsts, "max-age=31536000");
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // A browser that speaks plain HTTP to the HTTPS port is sent to https:// on the same port.
    let answer = raw(
        addr,
        &format!("GET /citizen?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 308 Permanent Redirect\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains(&format!(
            "\r\nLocation: https://127.0.0.1:{port}/citizen?x=1\r\n"
        )),
        "{answer}"
    );
    // Without a usable Host there is nowhere to redirect to.
    let answer = raw(addr, "GET / HTTP/1.1\r\nHost: evil/x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("https_required"), "{answer}");

    // The certificate names 127.0.0.1 only: `localhost` is refused by a client that checks.
    let err = http
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("NotValidForName"),
        "a name the certificate does not carry: {err:?}"
    );
    // A client that trusts another CA refuses the node too.
    let other = tempfile::tempdir().unwrap();
    let other_bundle = self::bundle(other.path());
    let stranger = client_trusting(&other_bundle.join("ca.crt"));
    assert!(stranger
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn a_start_without_its_https_key_or_off_loopback_in_plain_http_fails_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        "[https]\ncert = \"web.crt\"\nkey = \"missing/web.key\"\n",
    )
    .unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(dir.path().join("web.crt"), generated.cert.pem()).unwrap();
    let out = failed_start(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
    ])
    .await;
    let expected = dir.path().join("missing/web.key");
    assert!(
        out.contains("cannot read the HTTPS private key")
            && out.contains(&expected.display().to_string()),
        "the key file is named, relative to the config file: {out}"
    );

    // Plain HTTP on an address other machines reach is refused, never served.
    let out = failed_start(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "10.255.255.1:8443",
    ])
    .await;
    assert!(
        out.contains("node.listen 10.255.255.1:8443 is not a loopback address")
            && out.contains("[https]"),
        "{out}"
    );
    assert!(
        !data.exists(),
        "the refusal comes before the data directory is created"
    );
}
