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

/// `add-unit` for unit `unit` of AST, written to `out`, with `extra` arguments.
fn add_unit_args<'a>(unit: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "add-unit",
        "--ca",
        "ca",
        "--region",
        "AST",
        "--unit",
        unit,
        "--node",
        "10.20.0.5:7103",
        "--out",
        out,
    ];
    args.extend(extra);
    args
}

#[test]
fn r20_cli_unit_walkthrough() {
    let tmp = TempDir::new().unwrap();
    let cwd = tmp.path();
    ok(cwd, &["init-ca", "--dir", "ca"]);
    ok(cwd, AST);
    assert!(cwd.join("ast/crl.pem").is_file());

    let out = ok(
        cwd,
        &add_unit_args(
            "p01",
            "p01",
            &["--node-web", "https://console.ast.mvd.kz", "--days", "90"],
        ),
    );
    assert!(
        out.contains("Unit p01 of region AST bundle written to p01"),
        "{out}"
    );
    assert!(!out.contains("no --node-web"), "{out}");
    let toml = fs::read_to_string(cwd.join("p01/terminal.toml")).unwrap();
    assert!(toml.contains("address = \"10.20.0.5:7103\""), "{toml}");
    assert!(
        toml.contains("server_name = \"ast.region.mvd102\""),
        "{toml}"
    );
    assert!(
        toml.contains("web_url = \"https://console.ast.mvd.kz/\""),
        "{toml}"
    );
    let out = ok(cwd, &["verify", "p01"]);
    assert!(
        out.starts_with("OK: p01 is a valid bundle for unit p01 of region AST"),
        "{out}"
    );
    assert!(
        out.contains("(89 days left)") || out.contains("(90 days left)"),
        "{out}"
    );
    let out = ok(cwd, &add_unit_args("p02", "p02", &[]));
    assert!(out.contains("no --node-web given"), "{out}");

    let out = ok(
        cwd,
        &[
            "revoke", "--ca", "ca", "--region", "AST", "--unit", "p01", "--reason", "stolen",
        ],
    );
    assert!(
        out.contains("Revoked 1 certificate(s) of unit AST:p01") && out.contains("(unit)"),
        "{out}"
    );
    assert!(out.contains("region's node"), "{out}");

    // Retiring the region takes its remaining units along.
    let out = ok(cwd, &["revoke", "--ca", "ca", "--region", "AST"]);
    assert!(
        out.contains("Revoked 3 certificate(s) of region AST"),
        "{out}"
    );
}

#[test]
fn r20_cli_add_unit_refuses_bad_input() {
    let tmp = TempDir::new().unwrap();
    let cwd = tmp.path();
    ok(cwd, &["init-ca", "--dir", "ca"]);

    // No region bundle yet.
    let err = fails(cwd, &add_unit_args("p01", "p01", &[]));
    assert!(
        err.contains("invalid region") && err.contains("add-region --id AST"),
        "{err}"
    );
    ok(cwd, AST);
    let issued = fs::read(cwd.join("ca/issued.json")).unwrap();
    for (unit, expect) in [
        ("p/01", "invalid unit"),
        ("p01~log", "invalid unit"),
        ("P01", "invalid unit"),
        ("seventeen-chars-x", "1–16 characters"),
    ] {
        let err = fails(cwd, &add_unit_args(unit, "bad", &[]));
        assert!(err.contains(expect), "{unit:?}: {err}");
    }
    let err = fails(
        cwd,
        &add_unit_args("p01", "bad", &["--node-web", "http://x.kz"]),
    );
    assert!(err.contains("invalid node-web"), "{err}");
    let err = fails(cwd, &add_unit_args("p01", "bad", &["--days", "731"]));
    assert!(err.contains("invalid valid-days"), "{err}");
    let mut no_port = add_unit_args("p01", "bad", &[]);
    no_port[8] = "10.20.0.5";
    let err = fails(cwd, &no_port);
    assert!(err.contains("invalid node"), "{err}");
    assert!(!cwd.join("bad").exists());
    assert_eq!(fs::read(cwd.join("ca/issued.json")).unwrap(), issued);

    // --unit needs --region.
    let err = fails(cwd, &["revoke", "--ca", "ca", "--unit", "p01"]);
    assert!(err.contains("--region"), "{err}");
}
