//! R20: the `provisioning` binary end to end — the installer's walkthrough of README.md, and the
//! exit codes and messages a person sees when something is wrong.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

fn provisioning(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisioning"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("the provisioning binary runs")
}

fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = provisioning(cwd, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(cwd: &Path, args: &[&str]) -> String {
    let out = provisioning(cwd, args);
    assert!(!out.status.success(), "{args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

const AST: &[&str] = &[
    "add-region",
    "--ca",
    "ca",
    "--id",
    "AST",
    "--name-kk",
    "Астана қаласы ПД",
    "--name-ru",
    "ДП города Астаны",
    "--central",
    "central.mvd.kz:7102",
    "--out",
    "ast",
];

#[test]
fn r20_cli_walkthrough() {
    let tmp = TempDir::new().unwrap();
    let cwd = tmp.path();
    ok(cwd, &["init-ca", "--dir", "ca", "--name", "МВД РК 102 CA"]);
    let out = ok(cwd, AST);
    assert!(out.contains("Region AST bundle written to ast"), "{out}");
    ok(
        cwd,
        &[
            "add-central",
            "--ca",
            "ca",
            "--dns",
            "central.mvd.kz",
            "--ip",
            "10.1.2.3",
            "--out",
            "central",
        ],
    );
    let out = ok(cwd, &["verify", "ast"]);
    assert!(
        out.starts_with("OK: ast is a valid bundle for region AST"),
        "{out}"
    );
    ok(cwd, &["verify", "central"]);

    let out = ok(
        cwd,
        &[
            "revoke", "--ca", "ca", "--region", "AST", "--reason", "test",
        ],
    );
    assert!(
        out.contains("Revoked 2 certificate(s) of region AST"),
        "{out}"
    );
    assert!(out.contains("(region-web)"), "{out}");
    ok(cwd, &["refresh-crl", "--ca", "ca"]);
}

#[test]
fn r20_cli_web_names() {
    let tmp = TempDir::new().unwrap();
    let cwd = tmp.path();
    ok(cwd, &["init-ca", "--dir", "ca"]);

    // Without --web-dns/--web-ip: the region's server name, and a hint saying so.
    let out = ok(cwd, AST);
    assert!(
        out.contains("no --web-dns or --web-ip given") && out.contains("ast.region.mvd102"),
        "{out}"
    );
    let out = ok(cwd, &["verify", "ast"]);
    assert!(out.contains("for: ast.region.mvd102"), "{out}");

    let mut ala = AST.to_vec();
    ala[4] = "ALA";
    ala[12] = "ala";
    ala.extend([
        "--web-dns",
        "Console.ALA.mvd.kz",
        "--web-dns",
        "console.ala.mvd.kz",
        "--web-ip",
        "10.30.0.5",
    ]);
    let out = ok(cwd, &ala);
    assert!(!out.contains("no --web-dns"), "{out}");
    assert!(out.contains("for: console.ala.mvd.kz, 10.30.0.5"), "{out}");
    let out = ok(cwd, &["verify", "ala"]);
    assert!(out.contains("for: console.ala.mvd.kz, 10.30.0.5"), "{out}");

    // The central: its own names unless --web-dns/--web-ip are given.
    let central = [
        "add-central",
        "--ca",
        "ca",
        "--dns",
        "central.mvd.kz",
        "--out",
        "central",
    ];
    let out = ok(cwd, &central);
    assert!(out.contains("for: central.mvd.kz;"), "{out}");
    let mut hq = central.to_vec();
    hq[6] = "hq";
    hq.extend(["--web-ip", "10.1.2.4"]);
    let out = ok(cwd, &hq);
    assert!(out.contains("for: 10.1.2.4;"), "{out}");

    // Bad names are refused naming the option, and nothing is written.
    let mut bad = AST.to_vec();
    bad[12] = "bad";
    bad.extend(["--web-dns", "bad_name.kz"]);
    let err = fails(cwd, &bad);
    assert!(err.contains("invalid web-dns"), "{err}");
    bad.truncate(AST.len());
    bad.extend(["--web-ip", "console"]);
    let err = fails(cwd, &bad);
    assert!(err.contains("--web-ip"), "{err}");
    assert!(!cwd.join("bad").exists());
}

#[test]
fn r20_cli_reports_what_is_wrong() {
    let tmp = TempDir::new().unwrap();
    let cwd = tmp.path();
    ok(cwd, &["init-ca", "--dir", "ca"]);
    let err = fails(cwd, &["init-ca", "--dir", "ca"]);
    assert!(err.contains("never overwrites"), "{err}");

    let mut bad_id = AST.to_vec();
    bad_id[4] = "ast";
    let err = fails(cwd, &bad_id);
    assert!(err.contains("invalid region id"), "{err}");
    assert!(!cwd.join("ast").exists());

    ok(cwd, AST);
    let err = fails(cwd, AST);
    assert!(err.contains("already exists"), "{err}");

    fs::write(cwd.join("ast/node.toml"), "[tls]\n").unwrap();
    fs::remove_file(cwd.join("ast/bootstrap.secret")).unwrap();
    let err = fails(cwd, &["verify", "ast"]);
    assert!(err.contains("node.toml: modified"), "{err}");
    assert!(err.contains("bootstrap.secret: missing"), "{err}");

    fs::write(cwd.join("ast/bundle.json"), "{").unwrap();
    let err = fails(cwd, &["verify", "ast"]);
    assert!(err.contains("ast/bundle.json: invalid JSON"), "{err}");

    let err = fails(cwd, &["revoke", "--ca", "ca", "--region", "SHY"]);
    assert!(err.contains("issued no certificate to region SHY"), "{err}");
}
