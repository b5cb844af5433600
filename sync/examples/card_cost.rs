//! Measures what one card costs in the core: create, materialise, save (compressed and not),
//! memory per loaded document. `cargo run --release -p sync --example card_cost`
use automerge::ActorId;
use std::time::Instant;
use sync::reference::{CallCategory, RegionInfo};
use sync::*;

fn main() {
    let r = Reference {
        region: RegionInfo {
            code: "AST".into(),
            name_kk: "A".into(),
            name_ru: "A".into(),
        },
        districts: vec![],
        categories: vec![CallCategory {
            code: "theft".into(),
            name_kk: "x".into(),
            name_ru: "x".into(),
            priority: 2,
        }],
        duty_units: vec![],
        unit_overdue_after_s: 600,
        kui_deadline_h: 24,
        shifts: Default::default(),
        services: Vec::new(),
        external_bodies: Vec::new(),
        posts: Vec::new(),
        street_aliases: Vec::new(),
        town_aliases: Vec::new(),
    };
    let input = CardCreate {
        channel: Channel::App102Call,
        caller: Caller {
            name: Some("Айгерим".into()),
            phone: Some("+77011234567".into()),
            phone_raw: None,
            user_id: None,
            language: Some(Language::Kk),
        },
        location: Some(Location {
            lat: Some(51.1),
            lon: Some(71.4),
            accuracy_m: Some(10.0),
            address: Some("Астана, ул. Кенесары 40".into()),
            source: None,
        }),
        description: Some("Драка у подъезда, двое мужчин".into()),
        seen: Seen::default(),
        category: Some("theft".into()),
        priority: None,
        district: Some("esil".into()).filter(|_| false),
    };
    let n = 5000;
    let actor = ActorId::from(vec![7u8; 16]);
    let ctx = Ctx::new("op1", "AST", 1);
    let t = Instant::now();
    let mut docs: Vec<CardDoc> = (0..n)
        .map(|i| {
            CardDoc::create(
                actor.clone(),
                &format!("id-{i}"),
                &format!("AST-2026-{i:06}"),
                "AST",
                &input,
                &r,
                &ctx,
            )
            .unwrap()
        })
        .collect();
    let create = t.elapsed() / n;
    let t = Instant::now();
    for d in &docs {
        std::hint::black_box(d.view(&r).unwrap());
    }
    let view = t.elapsed() / n;
    let t = Instant::now();
    let mut total = 0;
    for d in docs.iter_mut() {
        total += d.save().len();
    }
    let save = t.elapsed() / n;
    let t = Instant::now();
    let mut total_nc = 0;
    for d in docs.iter_mut() {
        total_nc += d.automerge().save_nocompress().len();
    }
    let save_nc = t.elapsed() / n;
    let bytes: Vec<Vec<u8>> = docs.iter_mut().map(|d| d.save()).collect();
    let t = Instant::now();
    for b in &bytes {
        std::hint::black_box(CardDoc::load([b.as_slice()]).unwrap());
    }
    let load = t.elapsed() / n;
    println!("create {create:?} view {view:?} save {save:?} ({} B) save_nocompress {save_nc:?} ({} B) load {load:?}", total / n as usize, total_nc / n as usize);
}
