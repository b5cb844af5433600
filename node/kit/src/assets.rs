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
        "map.css",
        "map.js",
        "session.js",
        "storage.js",
        "texts.js",
        "timeline.js",
        "training.css",
        "training.js"
    ]
);

/// Leaflet 1.9.4, vendored unchanged from its npm tarball (`npm pack leaflet@1.9.4`, integrity
/// sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==)
/// into `assets/kit/leaflet/`, served under `/kit/leaflet/{path}`: the ES module build, its CSS
/// and licence ([`LEAFLET_TEXT`]) and the images the CSS names ([`LEAFLET_IMAGES`]).
pub const LEAFLET_TEXT: &[(&str, &str)] = embed_files!(
    "../assets/kit/leaflet",
    ["leaflet-src.esm.js", "leaflet.css", "LICENSE"]
);

/// Leaflet's PNG images (marker, shadow, layer switcher), by path under `assets/kit/leaflet/`.
pub const LEAFLET_IMAGES: &[(&str, &[u8])] = &[
    (
        "images/layers.png",
        include_bytes!("../assets/kit/leaflet/images/layers.png"),
    ),
    (
        "images/layers-2x.png",
        include_bytes!("../assets/kit/leaflet/images/layers-2x.png"),
    ),
    (
        "images/marker-icon.png",
        include_bytes!("../assets/kit/leaflet/images/marker-icon.png"),
    ),
    (
        "images/marker-icon-2x.png",
        include_bytes!("../assets/kit/leaflet/images/marker-icon-2x.png"),
    ),
    (
        "images/marker-shadow.png",
        include_bytes!("../assets/kit/leaflet/images/marker-shadow.png"),
    ),
];

/// How long a browser may keep a Leaflet file without asking again: the files change only with a
/// new binary, and a day bounds a stale copy after an upgrade, seconds.
pub const LEAFLET_MAX_AGE_S: u32 = 86_400;

/// `GET /kit/leaflet/{path}`: a vendored Leaflet file with its content type, or the JSON 404.
pub async fn leaflet_asset(Path(path): Path<String>) -> Response {
    let cache = format!("public, max-age={LEAFLET_MAX_AGE_S}");
    if let Some((_, png)) = LEAFLET_IMAGES.iter().find(|(n, _)| *n == path) {
        return (
            [
                (header::CONTENT_TYPE, "image/png".to_string()),
                (header::CACHE_CONTROL, cache),
            ],
            *png,
        )
            .into_response();
    }
    if path == "LICENSE" {
        let text = LEAFLET_TEXT
            .iter()
            .find(|(n, _)| *n == "LICENSE")
            .map(|(_, t)| *t);
        return (
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (header::CACHE_CONTROL, cache),
            ],
            text.unwrap_or_default(),
        )
            .into_response();
    }
    let mut resp = embedded_asset(LEAFLET_TEXT, &path);
    if resp.status().is_success() {
        if let Ok(v) = header::HeaderValue::from_str(&cache) {
            resp.headers_mut().insert(header::CACHE_CONTROL, v);
        }
    }
    resp
}

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
        let mut all: Vec<(String, &str)> = KIT.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        all.extend(
            LEAFLET_TEXT
                .iter()
                .map(|(n, t)| (format!("leaflet/{n}"), *t)),
        );
        all.extend(
            LEAFLET_IMAGES
                .iter()
                .map(|(n, _)| (format!("leaflet/{n}"), "")),
        );
        let table: Vec<(&str, &str)> = all.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        assert_eq!(unlisted(&dir, &table), Vec::<String>::new());
    }

    #[tokio::test]
    async fn leaflet_files_have_their_content_types_and_unknown_paths_a_json_404() {
        for (path, ctype) in [
            ("leaflet-src.esm.js", "text/javascript; charset=utf-8"),
            ("leaflet.css", "text/css; charset=utf-8"),
            ("images/marker-icon.png", "image/png"),
            ("images/layers-2x.png", "image/png"),
            ("LICENSE", "text/plain; charset=utf-8"),
        ] {
            let r = leaflet_asset(Path(path.to_string())).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], ctype, "{path}");
            assert_eq!(
                r.headers()[header::CACHE_CONTROL],
                format!("public, max-age={LEAFLET_MAX_AGE_S}").as_str(),
                "{path}"
            );
        }
        let png = LEAFLET_IMAGES[0].1;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        for bad in [
            "nope.js",
            "../assets.rs",
            "images/../leaflet.css",
            "images",
            "",
        ] {
            let r = leaflet_asset(Path(bad.to_string())).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        }
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
