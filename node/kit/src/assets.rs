//! The browser kit both servers serve under `/kit/{name}`: native ES modules (no build step,
//! Chrome ≥ 86 and Firefox ≥ 82) with the element helper, the API client, the session, live
//! events and the kk/ru texts the node's console and the hub's dashboard share. The files live
//! in `assets/kit/` of this crate and are embedded here, one line a file.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::web::embedded_asset;

pub mod sounds;

/// A table `&[(path, text)]` of files embedded with `include_str!`, each path relative to `$dir`
/// (itself relative to the file that names the macro, as for `include_str!`). Editing a listed
/// file rebuilds the crate; [`unlisted`] finds a file the table forgot.
#[macro_export]
macro_rules! embed_files {
    ($dir:literal, [$($name:literal),* $(,)?]) => {
        &[$(($name, include_str!(concat!($dir, "/", $name)))),*]
    };
}

/// Every kit file by name (a test checks that the folder has no other).
pub const KIT: &[(&str, &str)] = embed_files!(
    "../assets/kit",
    [
        "alerts.js",
        "api.js",
        "dom.js",
        "favicon.svg",
        "i18n.js",
        "kit.css",
        "live.js",
        "session.js",
        "storage.js",
        "texts.js",
        "timeline.js"
    ]
);

/// The files under `dir` (paths relative to it, `/`-separated) that `table` does not list, and
/// the table's paths that are not files there: what a test of an embedding table expects empty.
pub fn unlisted(dir: &std::path::Path, table: &[(&str, &str)]) -> Vec<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut on_disk = Vec::new();
    walk(dir, dir, &mut on_disk);
    let mut odd: Vec<String> = on_disk
        .iter()
        .filter(|f| !table.iter().any(|(n, _)| n == f))
        .cloned()
        .collect();
    odd.extend(
        table
            .iter()
            .filter(|(n, _)| !on_disk.iter().any(|f| f == n))
            .map(|(n, _)| format!("{n} (not a file)")),
    );
    odd.sort();
    odd
}

/// `GET /kit/{name}`: a kit module, an alert sound (`ring.wav`, … from [`sounds`]), or the
/// JSON 404.
pub async fn kit_asset(Path(name): Path<String>) -> Response {
    if let Some(wav) = sounds::wav_file(&name) {
        return (
            [
                (header::CONTENT_TYPE, "audio/wav"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            wav,
        )
            .into_response();
    }
    embedded_asset(KIT, &name)
}

/// `GET /favicon.ico` on both servers: the kit's icon (an SVG, which Chrome ≥ 86 and Firefox ≥ 82
/// take at this address too; the pages name it with `<link rel="icon">`).
pub async fn favicon() -> Response {
    embedded_asset(KIT, "favicon.svg")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};

    #[test]
    fn every_kit_file_is_embedded_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/kit");
        assert_eq!(unlisted(&dir, KIT), Vec::<String>::new());
    }

    #[tokio::test]
    async fn kit_modules_are_javascript_and_unknown_names_a_json_404() {
        let ok = kit_asset(Path("dom.js".to_string())).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let icon = favicon().await;
        assert_eq!(icon.status(), StatusCode::OK);
        assert_eq!(icon.headers()[header::CONTENT_TYPE], "image/svg+xml");
        let wav = kit_asset(Path("sos.wav".to_string())).await;
        assert_eq!(wav.status(), StatusCode::OK);
        assert_eq!(wav.headers()[header::CONTENT_TYPE], "audio/wav");
        for bad in ["nope.js", "../lib.rs", "..", "", "nope.wav", "../sos.wav"] {
            let r = kit_asset(Path(bad.to_string())).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
