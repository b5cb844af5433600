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
        out.contains("Revoked 1 certificate(s) of region AST"),
        "{out}"
    );
    ok(cwd, &["refresh-crl", "--ca", "ca"]);
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
