//! R27/R28/R38: the duplicate-appeal corpus. Every pair in `sync/src/duplicates/corpus.json` is an
//! earlier appeal `a`, a later one `b`, and whether `b` is a duplicate of `a` (same person, same
//! question, no new arguments). A candidate is shown when the store would find `a` from `b`
//! (an index key in common) and [`compare`] returns a match. The detector fails the corpus when
//! fewer than 95 % of the duplicates are shown (recall) or more than 10 % of the shown
//! candidates are not duplicates.
//!
//! `cargo test -p sync --test duplicate_corpus -- --nocapture --test-threads=1` prints the
//! figures per category and language, and the speed of a fingerprint and a compare.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde_json::Value;
use sync::duplicates::{
    compare, fingerprint, iin_is_valid, index_keys, text_similarity, DupReason, DupSubject,
    Fingerprint,
};
use sync::Language;

const CORPUS_JSON: &str = include_str!("../src/duplicates/corpus.json");
/// A corpus smaller than this does not cover the ways appeals are repeated.
const CORPUS_PAIRS_MIN: usize = 200;
/// Each category of the corpus has at least this many pairs…
const CATEGORY_PAIRS_MIN: usize = 25;
/// …except repeats in the other language, which are rare.
const OTHER_LANGUAGE_PAIRS_MIN: usize = 10;
/// Share of the duplicates that must be shown.
const RECALL_MIN: f64 = 0.95;
/// Share of the shown candidates that may be something else than a duplicate.
const FALSE_SHOWN_MAX: f64 = 0.10;
/// An appeal of the corpus is received at 10:00 in Kazakhstan (05:00 UTC) of its date.
const RECEIVED_HOUR_UTC_MS: i64 = 5 * 3_600_000;

struct Pair {
    id: String,
    category: String,
    duplicate: bool,
    a: DupSubject,
    b: DupSubject,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_ms(iso: &str) -> i64 {
    let parts: Vec<i64> = iso.split('-').map(|p| p.parse().expect(iso)).collect();
    days_from_civil(parts[0], parts[1], parts[2]) * 86_400_000 + RECEIVED_HOUR_UTC_MS
}

fn subject(v: &Value, number: String) -> DupSubject {
    let app = &v["applicant"];
    let field = |k: &str| app.get(k).and_then(Value::as_str).map(str::to_string);
    DupSubject {
        region: v["region"].as_str().unwrap().to_string(),
        number,
        received_at_ms: date_ms(v["received_at"].as_str().unwrap()),
        iin: field("iin"),
        phone: field("phone"),
        email: field("email"),
        surname: field("surname"),
        name: field("name"),
        patronymic: field("patronymic"),
        address: field("address"),
        language: Language::parse(v["language"].as_str().unwrap()).unwrap(),
        text: v["text"].as_str().unwrap().to_string(),
    }
}

fn corpus() -> Vec<Pair> {
    let doc: Value = serde_json::from_str(CORPUS_JSON).expect("corpus.json is JSON");
    doc["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let number = |side: usize, v: &Value| {
                format!(
                    "{}-2026-{:06}",
                    v["region"].as_str().unwrap(),
                    i * 2 + side + 1
                )
            };
            Pair {
                id: p["id"].as_str().unwrap_or_default().to_string(),
                category: p["category"].as_str().unwrap().to_string(),
                duplicate: p["duplicate"].as_bool().unwrap(),
                a: subject(&p["a"], number(0, &p["a"])),
                b: subject(&p["b"], number(1, &p["b"])),
            }
        })
        .collect()
}

fn keys_meet(a: &Fingerprint, b: &Fingerprint) -> bool {
    let ka: HashSet<String> = index_keys(a).into_iter().collect();
    index_keys(b).iter().any(|k| ka.contains(k))
}

#[derive(Default)]
struct Tally {
    pairs: usize,
    duplicates: usize,
    shown: usize,
    true_shown: usize,
}

impl Tally {
    fn add(&mut self, duplicate: bool, shown: bool) {
        self.pairs += 1;
        self.duplicates += usize::from(duplicate);
        self.shown += usize::from(shown);
        self.true_shown += usize::from(shown && duplicate);
    }
    fn line(&self, name: &str) -> String {
        let ratio = |a: usize, b: usize| {
            if b == 0 {
                "—".to_string()
            } else {
                format!("{:.3}", a as f64 / b as f64)
            }
        };
        format!(
            "{name:<24} pairs {:>3}  duplicates {:>3}  shown {:>3}  recall {:>5}  precision {:>5}",
            self.pairs,
            self.duplicates,
            self.shown,
            ratio(self.true_shown, self.duplicates),
            ratio(self.true_shown, self.shown)
        )
    }
}

#[test]
fn r38_duplicates_corpus_is_large_and_valid() {
    let pairs = corpus();
    assert!(pairs.len() >= CORPUS_PAIRS_MIN, "{} pairs", pairs.len());
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &pairs {
        *per.entry(p.category.as_str()).or_default() += 1;
        for s in [&p.a, &p.b] {
            if let Some(iin) = &s.iin {
                assert!(iin_is_valid(iin), "{}: ИИН {iin}", p.id);
            }
            let sentences = s.text.matches(['.', '!', '?']).count();
            assert!((1..=7).contains(&sentences), "{}: {}", p.id, s.text);
        }
    }
    for (category, n) in per {
        let min = if category == "other_language" {
            OTHER_LANGUAGE_PAIRS_MIN
        } else {
            CATEGORY_PAIRS_MIN
        };
        assert!(n >= min, "{category}: {n} pairs");
    }
}

#[test]
fn r38_duplicates_corpus_recall_and_false_candidates() {
    let pairs = corpus();
    let mut total = Tally::default();
    let mut per_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_language: BTreeMap<String, Tally> = BTreeMap::new();
    let mut sims: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for p in &pairs {
        let (fa, fb) = (fingerprint(&p.a), fingerprint(&p.b));
        let found = keys_meet(&fa, &fb);
        let m = compare(&fb, &fa);
        let shown = found && m.is_some();
        total.add(p.duplicate, shown);
        per_category
            .entry(p.category.clone())
            .or_default()
            .add(p.duplicate, shown);
        let lang = format!("{}→{}", p.a.language.as_str(), p.b.language.as_str());
        per_language
            .entry(lang)
            .or_default()
            .add(p.duplicate, shown);
        sims.entry(p.category.clone())
            .or_default()
            .push(text_similarity(&fb, &fa));
        if shown != p.duplicate {
            wrong.push(format!(
                "  {} ({}): expected {}, keys meet {found}, compare {:?}, similarity {:.3}",
                p.id,
                p.category,
                if p.duplicate { "shown" } else { "not shown" },
                m.as_ref()
                    .map(|m| m.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
                text_similarity(&fb, &fa)
            ));
        }
    }
    println!("R38 duplicate corpus ({} pairs):", pairs.len());
    for (c, t) in &per_category {
        println!("{}", t.line(c));
    }
    for (l, t) in &per_language {
        println!("{}", t.line(l));
    }
    println!("{}", total.line("all"));
    for (c, v) in &mut sims {
        v.sort_by(f32::total_cmp);
        println!(
            "  text similarity {c:<24} min {:.3}  median {:.3}  max {:.3}",
            v[0],
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
    if !wrong.is_empty() {
        println!("disagreements:\n{}", wrong.join("\n"));
    }
    let recall = total.true_shown as f64 / total.duplicates as f64;
    let false_share = (total.shown - total.true_shown) as f64 / total.shown.max(1) as f64;
    assert!(recall >= RECALL_MIN, "recall {recall:.3}");
    assert!(
        false_share <= FALSE_SHOWN_MAX,
        "false shown {false_share:.3}"
    );
}

/// A store finds candidates only by keys: a repeat without an ИИН must share one with the
/// original through the phone, the e-mail or the name (and address).
#[test]
fn r38_duplicates_reworded_repeat_without_iin_shares_an_index_key() {
    let original = DupSubject {
        region: "AST".into(),
        number: "AST-2026-000123".into(),
        received_at_ms: date_ms("2026-03-12"),
        iin: Some("600705451316".into()),
        phone: Some("+7 747 640 67 33".into()),
        email: None,
        surname: Some("Иванова".into()),
        name: Some("Ольга".into()),
        patronymic: Some("Петровна".into()),
        address: Some("г. Астана, ул. Байтурсынова, д. 78, кв. 32".into()),
        language: Language::Ru,
        text: "Соседи из квартиры 45 каждую ночь громко включают музыку и шумят до трёх часов \
               ночи. Прошу принять меры."
            .into(),
    };
    let repeat = DupSubject {
        number: "AST-2026-000456".into(),
        received_at_ms: date_ms("2026-03-30"),
        iin: None,
        phone: None,
        address: Some("Байтурсынова 78, кв 32".into()),
        text: "Ещё раз прошу принять меры к соседям из квартиры 45, которые по ночам шумят и \
               включают музыку."
            .into(),
        ..original.clone()
    };
    let (fo, fr) = (fingerprint(&original), fingerprint(&repeat));
    assert!(keys_meet(&fo, &fr));
    assert!(index_keys(&fr)
        .iter()
        .any(|k| k == "name_addr:иванова|ольга|78|32"));
    let m = compare(&fr, &fo).expect("a candidate");
    assert!(m.reasons.contains(&DupReason::SameNameAddress));
    assert!(m.reasons.contains(&DupReason::SimilarText));

    for p in corpus().iter().filter(|p| p.category == "reworded_no_iin") {
        let (fa, fb) = (fingerprint(&p.a), fingerprint(&p.b));
        assert!(fb.iin.is_none(), "{}", p.id);
        assert!(
            keys_meet(&fa, &fb),
            "{}: {:?} / {:?}",
            p.id,
            index_keys(&fa),
            index_keys(&fb)
        );
    }
}

/// Near copies are found by their LSH keys alone, without any identity key.
#[test]
fn r38_duplicates_copies_share_an_lsh_key() {
    let pairs = corpus();
    let copies: Vec<&Pair> = pairs
        .iter()
        .filter(|p| p.category == "copy_other_body")
        .collect();
    let lsh = |f: &Fingerprint| -> HashSet<String> {
        index_keys(f)
            .into_iter()
            .filter(|k| k.starts_with("lsh:"))
            .collect()
    };
    let found = copies
        .iter()
        .filter(|p| {
            let (a, b) = (lsh(&fingerprint(&p.a)), lsh(&fingerprint(&p.b)));
            !a.is_disjoint(&b)
        })
        .count();
    println!(
        "copies found by LSH keys alone: {found} of {}",
        copies.len()
    );
    assert_eq!(found, copies.len());
}

#[test]
fn r38_duplicates_fingerprint_is_serialisable_and_compact() {
    let pairs = corpus();
    let mut sizes: Vec<usize> = pairs
        .iter()
        .map(|p| {
            let f = fingerprint(&p.a);
            let json = serde_json::to_string(&f).unwrap();
            let back: Fingerprint = serde_json::from_str(&json).unwrap();
            assert_eq!(back, f);
            json.len()
        })
        .collect();
    sizes.sort_unstable();
    println!(
        "fingerprint JSON bytes: median {}, max {}; index keys per appeal: {}",
        sizes[sizes.len() / 2],
        sizes[sizes.len() - 1],
        index_keys(&fingerprint(&pairs[0].a)).len()
    );
    assert!(sizes[sizes.len() - 1] < 4_096);
}

/// Speed, for the national check (R38: p99 ≤ 50 ms over 2,000,000 appeals by key lookups):
/// printed, not asserted (a debug build on a shared machine).
#[test]
fn r38_duplicates_speed_of_fingerprint_and_compare() {
    let pairs = corpus();
    let subjects: Vec<&DupSubject> = pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
    let start = Instant::now();
    let prints: Vec<Fingerprint> = subjects.iter().map(|s| fingerprint(s)).collect();
    let fp = start.elapsed();
    let start = Instant::now();
    let mut keys = 0;
    for f in &prints {
        keys += index_keys(f).len();
    }
    let ik = start.elapsed();
    let start = Instant::now();
    let mut candidates = 0;
    for a in &prints {
        for b in &prints {
            candidates += usize::from(compare(a, b).is_some());
        }
    }
    let cmp = start.elapsed();
    // Compares of the same person's appeals (no early exit on identity), as a store's
    // candidates mostly are.
    let same_person: Vec<(Fingerprint, Fingerprint)> = pairs
        .iter()
        .map(|p| (fingerprint(&p.b), fingerprint(&p.a)))
        .collect();
    const ROUNDS: usize = 100;
    let start = Instant::now();
    let mut shown = 0;
    for _ in 0..ROUNDS {
        for (b, a) in &same_person {
            shown += usize::from(compare(b, a).is_some());
        }
    }
    let pair_cmp = start.elapsed().as_secs_f64() * 1e6 / (ROUNDS * same_person.len()) as f64;
    println!(
        "compare of a corpus pair {pair_cmp:.2} µs ({} shown per round)",
        shown / ROUNDS
    );
    let n = prints.len() as f64;
    println!(
        "fingerprint {:.1} µs, index_keys {:.1} µs ({} keys), compare {:.3} µs ({} compares, {} candidates)",
        fp.as_secs_f64() * 1e6 / n,
        ik.as_secs_f64() * 1e6 / n,
        keys / prints.len(),
        cmp.as_secs_f64() * 1e6 / (n * n),
        prints.len() * prints.len(),
        candidates
    );
}
