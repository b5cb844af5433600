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
    // Reference data slipped into the directory without being in the manifest is refused.
    std::fs::write(
        bundle.join(provisioning::bundle_files::REFERENCE),
        "[reference]\nkui_deadline_h = 1\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        node::bundle::region_bundle_layers(&bundle).unwrap_err()
    );
    assert!(err.contains("reference.toml"), "{err}");
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

#[test]
fn r20_a_region_bundle_carries_the_regions_own_reference_data() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca(dir.path());
    let bundle = dir.path().join("krg");
    let reference = provisioning::reference::RegionReference::parse(
        r#"
[reference]
kui_deadline_h = 24

[[reference.districts]]
code = "KAZ"
name_kk = "Қазыбек би ауданы"
name_ru = "Район имени Казыбек би"
polygon = [[49.78, 73.05], [49.78, 73.20], [49.86, 73.20], [49.86, 73.05]]

[[units]]
id = "krg-p1"
call_sign = "Сункар-1"
kind = "patrol"
"#,
    )
    .unwrap();
    let settings = RegionSettings {
        id: RegionId::parse("KRG").unwrap(),
        name_kk: RegionName::parse("name-kk", "Қарағанды облысының ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП Карагандинской области").unwrap(),
        central: CentralAddress::parse("central.mvd.kz:7102").unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    };
    provisioning::add_region_with_reference(
        &ca,
        &bundle,
        &settings,
        Some(&reference),
        OffsetDateTime::now_utc(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let layers = node::bundle::region_bundle_layers(&bundle).unwrap();
    assert_eq!(layers.len(), 2);
    let paths: Vec<&Path> = layers.iter().map(|p| p.as_path()).collect();
    let config = Config::load_layers(&paths).unwrap();
    assert_eq!(config.reference.region.code, "KRG");
    let codes: Vec<&str> = config
        .reference
        .districts
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        codes,
        ["KAZ"],
        "the region's districts replace the demo ones"
    );
    assert_eq!(config.units.len(), 1);
    // The reference file is in the manifest: changing it makes the bundle fail verification.
    let file = bundle.join(provisioning::bundle_files::REFERENCE);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("KAZ", "XXX");
    std::fs::write(&file, text).unwrap();
    let err = format!(
        "{:#}",
        node::bundle::region_bundle_layers(&bundle).unwrap_err()
    );
    assert!(err.contains("reference.toml"), "{err}");
}
