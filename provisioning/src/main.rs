//! `provisioning`: the installer's command line. Parses arguments into typed settings and calls
//! the library; all the work is in `provisioning::*`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rand::rngs::OsRng;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use provisioning::limits::{
    CA_VALID_DAYS_DEFAULT, PEER_VALID_DAYS_DEFAULT, UNIT_VALID_DAYS_DEFAULT,
};
use provisioning::progress::Spinner;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, CentralName, CentralSettings, DnsName, NodeAddress,
    NodeWebUrl, RegionId, RegionName, RegionSettings, UnitId, UnitSettings, ValidDays, WebNames,
};
use provisioning::{Error, RegionOptions, RevokeTarget, Role};

/// Installer of the 102 network: private CA, region and central bundles, revocation.
#[derive(Debug, Parser)]
#[command(name = "provisioning", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the private CA: ca.key (0600), ca.crt, issued.json, revoked.json, crl.pem.
    InitCa {
        /// CA directory to create (must not exist or be empty).
        #[arg(long, value_name = "CA_DIR")]
        dir: PathBuf,
        /// The CA certificate's common name.
        #[arg(long, default_value = "МВД РК 102 CA")]
        name: String,
        /// Validity of the CA certificate, in days.
        #[arg(long, default_value_t = CA_VALID_DAYS_DEFAULT)]
        valid_days: u32,
    },
    /// Make a region's bundle: ca.crt, node.crt, node.key, web.crt, web.key, node.toml,
    /// bootstrap.secret, crl.pem, bundle.json.
    AddRegion {
        /// CA directory made by init-ca.
        #[arg(long, value_name = "CA_DIR")]
        ca: PathBuf,
        /// Region id: 2–8 upper-case latin letters (AST, ALA, SHY, …).
        #[arg(long)]
        id: String,
        /// Region name in Kazakh.
        #[arg(long)]
        name_kk: String,
        /// Region name in Russian.
        #[arg(long)]
        name_ru: String,
        /// Where the node reaches the central: HOST:PORT.
        #[arg(long, value_name = "ADDR:PORT")]
        central: String,
        /// Bundle directory to create (must not exist or be empty).
        #[arg(long, value_name = "BUNDLE_DIR")]
        out: PathBuf,
        /// Validity of the node certificate, in days.
        #[arg(long, default_value_t = PEER_VALID_DAYS_DEFAULT)]
        valid_days: u32,
        /// The region's reference data (TOML: [[reference.districts]], [[reference.categories]],
        /// [[reference.duty_units]], [[reference.street_aliases]], [[reference.town_aliases]],
        /// timing rules, [[units]]); without it the node starts with the embedded demo data.
        #[arg(long, value_name = "FILE")]
        reference: Option<PathBuf>,
        /// A DNS name operators' workstations use to open the node's console over HTTPS
        /// (repeatable); without --web-dns and --web-ip the web certificate names only
        /// <id>.region.mvd102.
        #[arg(long, value_name = "NAME")]
        web_dns: Vec<String>,
        /// An IP address operators' workstations use to open the node's console over HTTPS
        /// (repeatable).
        #[arg(long, value_name = "ADDR")]
        web_ip: Vec<IpAddr>,
    },
    /// Make a field unit's terminal bundle: ca.crt, unit.crt, unit.key, terminal.toml,
    /// bundle.json.
    AddUnit {
        /// CA directory made by init-ca.
        #[arg(long, value_name = "CA_DIR")]
        ca: PathBuf,
        /// The unit's region id; the region's bundle must have been made (add-region).
        #[arg(long)]
        region: String,
        /// The unit id as in the region's reference: 1–16 characters a–z, 0–9, '-' (p01).
        #[arg(long)]
        unit: String,
        /// Where the terminal reaches the region's node for field sync (QUIC): HOST:PORT.
        #[arg(long, value_name = "ADDR:PORT")]
        node: String,
        /// The name the terminal checks on the node's certificate; by default the region's
        /// <id>.region.mvd102, which every node certificate carries.
        #[arg(long, value_name = "NAME")]
        node_name: Option<String>,
        /// The node console's HTTPS address for the officer's first, online login.
        #[arg(long, value_name = "https://…")]
        node_web: Option<String>,
        /// Bundle directory to create (must not exist or be empty).
        #[arg(long, value_name = "BUNDLE_DIR")]
        out: PathBuf,
        /// Validity of the unit certificate, in days.
        #[arg(long, visible_alias = "days", default_value_t = UNIT_VALID_DAYS_DEFAULT)]
        valid_days: u32,
    },
    /// Make the central's bundle: ca.crt, central.crt, central.key, web.crt, web.key, central.toml,
    /// crl.pem, bundle.json.
    AddCentral {
        /// CA directory made by init-ca.
        #[arg(long, value_name = "CA_DIR")]
        ca: PathBuf,
        /// The central's name (a–z, 0–9, '-').
        #[arg(long, default_value = "central")]
        name: String,
        /// A DNS name the nodes dial (repeatable).
        #[arg(long)]
        dns: Vec<String>,
        /// An IP address the nodes dial (repeatable).
        #[arg(long)]
        ip: Vec<IpAddr>,
        /// Bundle directory to create (must not exist or be empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Validity of the central certificate, in days.
        #[arg(long, default_value_t = PEER_VALID_DAYS_DEFAULT)]
        valid_days: u32,
        /// A DNS name HQ's workstations use to open the dashboard over HTTPS (repeatable); without
        /// --web-dns and --web-ip the web certificate carries the --dns and --ip names.
        #[arg(long, value_name = "NAME")]
        web_dns: Vec<String>,
        /// An IP address HQ's workstations use to open the dashboard over HTTPS (repeatable).
        #[arg(long, value_name = "ADDR")]
        web_ip: Vec<IpAddr>,
    },
    /// Check a bundle: manifest, digests, chain to its CA, validity, role, keys, web certificate,
    /// file modes.
    Verify {
        /// The bundle directory.
        #[arg(value_name = "BUNDLE_DIR")]
        bundle: PathBuf,
    },
    /// Revoke every certificate issued to a region (node, web and all its units'), to one unit
    /// (--region with --unit) or to the central, and re-sign crl.pem.
    Revoke {
        /// CA directory made by init-ca.
        #[arg(long, value_name = "CA_DIR")]
        ca: PathBuf,
        /// The region id.
        #[arg(long, required_unless_present = "central", conflicts_with = "central")]
        region: Option<String>,
        /// A unit of --region: revoke only that unit's certificates (a terminal lost or stolen).
        #[arg(long, requires = "region")]
        unit: Option<String>,
        /// The central's name, to revoke the central's certificates instead.
        #[arg(long)]
        central: Option<String>,
        /// Why, recorded in revoked.json.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-sign crl.pem with a fresh next-update time (run before it goes stale).
    RefreshCrl {
        /// CA directory made by init-ca.
        #[arg(long, value_name = "CA_DIR")]
        ca: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn show(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn run(command: Command) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let mut progress = Spinner::stderr();
    match command {
        Command::InitCa {
            dir,
            name,
            valid_days,
        } => {
            let settings = CaSettings {
                name: CaName::parse(&name)?,
                valid_days: ValidDays::for_ca(valid_days)?,
            };
            let summary = provisioning::init_ca(&dir, &settings, now, &mut OsRng, &mut progress)
                .context("init-ca failed")?;
            println!(
                "CA created in {}: serial {}, valid until {}",
                summary.dir.display(),
                summary.serial,
                show(summary.not_after)
            );
            println!("Keep ca.key offline; back up the whole directory.");
        }
        Command::AddRegion {
            ca,
            id,
            name_kk,
            name_ru,
            central,
            out,
            valid_days,
            reference,
            web_dns,
            web_ip,
        } => {
            let reference = reference
                .as_deref()
                .map(provisioning::reference::RegionReference::read)
                .transpose()?;
            let web = web_names(&web_dns, web_ip)?;
            let default_web = web.is_none();
            let settings = RegionSettings {
                id: RegionId::parse(&id)?,
                name_kk: RegionName::parse("name-kk", &name_kk)?,
                name_ru: RegionName::parse("name-ru", &name_ru)?,
                central: CentralAddress::parse(&central)?,
                valid_days: ValidDays::for_peer(valid_days)?,
            };
            let options = RegionOptions {
                reference: reference.as_ref(),
                web,
            };
            let summary = provisioning::add_region_with_options(
                &ca,
                &out,
                &settings,
                &options,
                now,
                &mut OsRng,
                &mut progress,
            )
            .with_context(|| format!("add-region {id} failed"))?;
            if reference.is_none() {
                println!(
                    "note: no --reference given; the node will use the embedded demo districts, \
                     categories and units until its config overrides them"
                );
            }
            if default_web {
                println!(
                    "note: no --web-dns or --web-ip given; the console's web certificate names \
                     only {}, so operators' workstations must reach the node by that name (DNS \
                     or their hosts file)",
                    summary.web_names.join(", ")
                );
            }
            println!(
                "Region {id} bundle written to {}: certificate serial {}, valid until {}",
                summary.dir.display(),
                summary.serial,
                show(summary.not_after)
            );
            print_web(&summary);
            warn_earlier(&summary.earlier_unrevoked, &format!("region {id}"));
        }
        Command::AddUnit {
            ca,
            region,
            unit,
            node,
            node_name,
            node_web,
            out,
            valid_days,
        } => {
            let mut settings = UnitSettings::new(
                RegionId::parse(&region)?,
                UnitId::parse(&unit)?,
                NodeAddress::parse(&node)?,
                ValidDays::for_unit(valid_days)?,
            );
            if let Some(name) = node_name {
                settings.node_name = DnsName::parse_for("node-name", &name)?;
            }
            settings.node_web = node_web.as_deref().map(NodeWebUrl::parse).transpose()?;
            let summary =
                provisioning::add_unit(&ca, &out, &settings, now, &mut OsRng, &mut progress)
                    .with_context(|| format!("add-unit {region} {unit} failed"))?;
            println!(
                "Unit {unit} of region {region} bundle written to {}: certificate serial {}, \
                 valid until {}",
                summary.dir.display(),
                summary.serial,
                show(summary.not_after)
            );
            if settings.node_web.is_none() {
                println!(
                    "note: no --node-web given; the terminal cannot check an officer's first \
                     login online"
                );
            }
            warn_earlier(
                &summary.earlier_unrevoked,
                &format!("unit {unit} of region {region}"),
            );
        }
        Command::AddCentral {
            ca,
            name,
            dns,
            ip,
            out,
            valid_days,
            web_dns,
            web_ip,
        } => {
            let dns = dns
                .iter()
                .map(|d| DnsName::parse(d))
                .collect::<Result<Vec<_>, Error>>()?;
            let mut settings = CentralSettings::new(
                CentralName::parse(&name)?,
                dns,
                ip,
                ValidDays::for_peer(valid_days)?,
            )?;
            if let Some(web) = web_names(&web_dns, web_ip)? {
                settings = settings.with_web(web);
            }
            let summary =
                provisioning::add_central(&ca, &out, &settings, now, &mut OsRng, &mut progress)
                    .context("add-central failed")?;
            println!(
                "Central bundle written to {}: certificate serial {}, valid until {}",
                summary.dir.display(),
                summary.serial,
                show(summary.not_after)
            );
            print_web(&summary);
            warn_earlier(&summary.earlier_unrevoked, &format!("central {name}"));
        }
        Command::Verify { bundle } => {
            let verified = provisioning::verify_bundle(&bundle, now)?;
            let not_after = verified.manifest.certificate.not_after;
            let days_left = (not_after - now).whole_days();
            let who = match &verified.role {
                Role::Region(id) => format!("region {id}"),
                Role::Central => "central".to_owned(),
                role @ Role::Unit { .. } => role.to_string(),
            };
            println!(
                "OK: {} is a valid bundle for {who}; certificate {} valid until {} ({days_left} days left)",
                bundle.display(),
                verified.manifest.certificate.serial,
                show(not_after)
            );
            match &verified.manifest.web_certificate {
                None if matches!(verified.role, Role::Unit { .. }) => {}
                Some(web) => println!(
                    "Web certificate {} (HTTPS) for: {}",
                    web.serial,
                    verified.web_names.join(", ")
                ),
                None => println!(
                    "note: bundle format version {} has no web certificate; make the bundle again \
                     with this tool to serve the console or dashboard over HTTPS",
                    verified.manifest.format_version
                ),
            }
        }
        Command::Revoke {
            ca,
            region,
            unit,
            central,
            reason,
        } => {
            let target = match (region, unit, central) {
                (Some(region), Some(unit), _) => RevokeTarget::Unit {
                    region: RegionId::parse(&region)?,
                    unit: UnitId::parse(&unit)?,
                },
                (Some(region), None, _) => RevokeTarget::Region(RegionId::parse(&region)?),
                (None, _, Some(central)) => RevokeTarget::Central(CentralName::parse(&central)?),
                (None, _, None) => anyhow::bail!("give --region ID [--unit ID] or --central NAME"),
            };
            let copy_to = match &target {
                RevokeTarget::Central(_) => "the central",
                RevokeTarget::Region(_) => "the central",
                RevokeTarget::Unit { .. } => "the region's node (over its bundle's crl.pem)",
            };
            let summary = provisioning::revoke(&ca, &target, reason.as_deref(), now, &mut progress)
                .with_context(|| format!("revoke {target} failed"))?;
            let revoked: Vec<String> = summary
                .revoked
                .iter()
                .map(|r| format!("{} ({})", r.serial, r.role))
                .collect();
            println!(
                "Revoked {} certificate(s) of {target}: {}",
                revoked.len(),
                revoked.join(", ")
            );
            println!(
                "CRL #{} written to {}; copy it to {copy_to}.",
                summary.crl_number,
                summary.crl.display()
            );
        }
        Command::RefreshCrl { ca } => {
            let summary =
                provisioning::refresh_crl(&ca, now, &mut progress).context("refresh-crl failed")?;
            println!(
                "CRL #{} written to {}; copy it to the central and to every region's node (its \
                 bundle's crl.pem).",
                summary.crl_number,
                summary.crl.display()
            );
        }
    }
    Ok(())
}

/// The names given with `--web-dns` and `--web-ip`, checked; `None` when neither was given.
fn web_names(dns: &[String], ip: Vec<IpAddr>) -> Result<Option<WebNames>, Error> {
    if dns.is_empty() && ip.is_empty() {
        return Ok(None);
    }
    let dns = dns
        .iter()
        .map(|d| DnsName::parse_for("web-dns", d))
        .collect::<Result<Vec<_>, Error>>()?;
    WebNames::new(dns, ip).map(Some)
}

fn print_web(summary: &provisioning::BundleSummary) {
    println!(
        "Web certificate (HTTPS) serial {} for: {}; workstations trust the bundle's ca.crt",
        summary.web_serial,
        summary.web_names.join(", ")
    );
}

fn warn_earlier(serials: &[String], who: &str) {
    if !serials.is_empty() {
        eprintln!(
            "note: {who} still has {} earlier unrevoked certificate(s) ({}); revoke them when the \
             old installation is retired",
            serials.len(),
            serials.join(", ")
        );
    }
}
