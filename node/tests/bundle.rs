//! R20: a provisioned region's node starts from its bundle; a damaged or wrong bundle is refused
//! with the file named.

use std::path::Path;

use node::config::Config;
use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, CentralName, CentralSettings, DnsName, RegionId,
    RegionName, RegionSettings, ValidDays,
};
use rand::rngs::OsRng;
use time::OffsetDateTime;

fn ca(root: &Path) -> std::path::PathBuf {
    let dir = root.join("ca");
    let settings = CaSettings {
        name: CaName::parse("test CA").unwrap(),
        valid_days: ValidDays::for_ca(3650).unwrap(),
    };
    provisioning::init_ca(
        &dir,
        &settings,
        OffsetDateTime::now_utc(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    dir
}

fn region_bundle(ca: &Path, out: &Path, id: &str) {
    let settings = RegionSettings {
        id: RegionId::parse(id).unwrap(),
        name_kk: RegionName::parse("name-kk", "Қарағанды облысының ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП Карагандинской области").unwrap(),
        central: CentralAddress::parse("central.mvd.kz:7102").unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    };
    provisioning::add_region(
        ca,
        out,
        &settings,
        OffsetDateTime::now_utc(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
}

#[test]
fn r20_node_starts_from_a_region_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let bundle = dir.path().join("krg");
    region_bundle(&ca, &bundle, "KRG");
    let overlay = node::bundle::check_region_bundle(&bundle).unwrap();
    let mut config = Config::load_layers(&[overlay.as_path()]).unwrap();
    node::bundle::resolve_paths(&mut config, &bundle);
    assert_eq!(config.reference.region.code, "KRG");
    assert_eq!(config.reference.region.name_ru, "ДП Карагандинской области");
    assert_eq!(config.central.unwrap().address, "central.mvd.kz:7102");
    let tls = config.tls.unwrap();
    assert!(tls.cert.starts_with(&bundle) && tls.cert.exists());
    let secret = node::bundle::bootstrap_secret(&bundle).unwrap().unwrap();
    assert!(secret.len() >= 16);
}

#[test]
fn r20_a_modified_or_central_bundle_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let bundle = dir.path().join("krg");
    region_bundle(&ca, &bundle, "KRG");
    // Claim another region in the config overlay: the manifest digest no longer matches.
    let overlay = bundle.join("node.toml");
    let text = std::fs::read_to_string(&overlay)
        .unwrap()
        .replace("KRG", "AST");
    std::fs::write(&overlay, text).unwrap();
    let err = format!(
        "{:#}",
        node::bundle::check_region_bundle(&bundle).unwrap_err()
    );
    assert!(err.contains("node.toml"), "{err}");

    let central = dir.path().join("central");
    let settings = CentralSettings::new(
        CentralName::parse("central").unwrap(),
        vec![DnsName::parse("central.mvd.kz").unwrap()],
        vec![],
        ValidDays::for_peer(730).unwrap(),
    )
    .unwrap();
    provisioning::add_central(
        &ca,
        &central,
        &settings,
        OffsetDateTime::now_utc(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let err = format!(
        "{:#}",
        node::bundle::check_region_bundle(&central).unwrap_err()
    );
    assert!(err.contains("central"), "{err}");
    let err = format!(
        "{:#}",
        node::bundle::check_region_bundle(&dir.path().join("nothing")).unwrap_err()
    );
    assert!(err.contains("nothing"), "{err}");
}
