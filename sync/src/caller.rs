//! What a caller's app or an operator sent about the caller, made usable: a phone number in
//! E.164, names without control characters. A caller is never refused for how they wrote their
//! phone or name — every call that rings must get its card — so what cannot be read as a phone
//! number is kept as sent (`phone_raw`) for the operator to check.

use crate::model::{limits, Caller};

/// Country assumed for numbers written without a country code (`8 701 …`, `701 …`).
pub const DEFAULT_PHONE_COUNTRY: phonenumber::country::Id = phonenumber::country::Id::KZ;

/// Cleans free text from outside: control characters (a bell, an ANSI escape, a line break in a
/// name) become spaces, runs of white space one space, the ends are trimmed, and the text is cut
/// to `max_chars`. Empty text is `None`.
pub fn clean_text(s: &str, max_chars: usize) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for ch in s.chars() {
        if ch.is_control() || ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if out.chars().count() >= max_chars {
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(ch);
    }
    (!out.is_empty()).then_some(out)
}

/// The E.164 form of a phone number as people write it, or `None` when it is not a valid
/// number (too short, letters, another service's short code).
pub fn normalize_phone(raw: &str) -> Option<String> {
    // The parser reads letters as a keypad ("1-800-FLOWERS"); a caller's phone has none, and
    // text such as "звоните на домашний" must not become digits.
    if raw.chars().any(char::is_alphabetic) {
        return None;
    }
    let number = phonenumber::parse(Some(DEFAULT_PHONE_COUNTRY), raw).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    (e164.len() <= limits::PHONE_CHARS_MAX).then_some(e164)
}

/// The caller as the core stores it. Idempotent: normalising twice changes nothing.
pub fn normalize_caller(c: &Caller) -> Caller {
    let clean_phone = |p: &str| clean_text(p, limits::PHONE_RAW_CHARS_MAX);
    let sent = c.phone.as_deref().and_then(clean_phone);
    let earlier = c.phone_raw.as_deref().and_then(clean_phone);
    // What was sent is `phone`; `phone_raw` alone when a client passes back a stored caller.
    let (phone, phone_raw) = match sent.or(earlier.clone()) {
        None => (None, None),
        Some(raw) => match normalize_phone(&raw) {
            // Already E.164: keep the earlier raw form if it is the same number.
            Some(p) if p == raw => {
                let same = earlier.filter(|e| *e != p && normalize_phone(e).as_ref() == Some(&p));
                (Some(p), same)
            }
            Some(p) => (Some(p), Some(raw)),
            None => (None, Some(raw)),
        },
    };
    Caller {
        name: c
            .name
            .as_deref()
            .and_then(|n| clean_text(n, limits::NAME_CHARS_MAX)),
        phone,
        phone_raw,
        user_id: c
            .user_id
            .as_deref()
            .and_then(|u| clean_text(u, limits::CODE_CHARS_MAX)),
        language: c.language,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(phone: Option<&str>, name: Option<&str>) -> Caller {
        Caller {
            phone: phone.map(str::to_string),
            name: name.map(str::to_string),
            ..Caller::default()
        }
    }

    fn check(phone: &str, expect_phone: Option<&str>, expect_raw: Option<&str>) {
        let c = normalize_caller(&caller(Some(phone), None));
        assert_eq!(
            (c.phone.as_deref(), c.phone_raw.as_deref()),
            (expect_phone, expect_raw),
            "{phone:?}"
        );
        assert_eq!(normalize_caller(&c), c, "idempotent for {phone:?}");
    }

    #[test]
    fn r03_phones_as_people_write_them_become_e164_and_the_raw_value_is_kept() {
        let e = Some("+77012345678");
        check("+77012345678", e, None);
        check("+7 701 234 56 78", e, Some("+7 701 234 56 78"));
        check("8(701)234-56-78", e, Some("8(701)234-56-78"));
        check("87012345678", e, Some("87012345678"));
        check("8 701 234 5678", e, Some("8 701 234 5678"));
        check(" \t+7 (701) 234-56-78\n", e, Some("+7 (701) 234-56-78"));
        // Landlines of Astana and a Russian mobile (+7 is shared).
        check(
            "8 (7172) 55-66-77",
            Some("+77172556677"),
            Some("8 (7172) 55-66-77"),
        );
        check(
            "+7 916 123-45-67",
            Some("+79161234567"),
            Some("+7 916 123-45-67"),
        );
        // Not a phone: kept as sent, never dropped.
        check("12", None, Some("12"));
        check("102", None, Some("102"));
        check("звоните на домашний ☎", None, Some("звоните на домашний ☎"));
        check("1-800-FLOWERS", None, Some("1-800-FLOWERS"));
        check("+7\u{7}701", None, Some("+7 701"));
        let c = normalize_caller(&caller(Some("  "), None));
        assert_eq!((c.phone, c.phone_raw), (None, None));
        let long = "9".repeat(1000);
        let c = normalize_caller(&caller(Some(&long), None));
        assert_eq!(c.phone, None);
        assert_eq!(
            c.phone_raw.map(|r| r.chars().count()),
            Some(limits::PHONE_RAW_CHARS_MAX)
        );
    }

    #[test]
    fn names_lose_control_characters_not_letters() {
        for (name, expect) in [
            ("Айгерім Серікқызы", Some("Айгерім Серікқызы")),
            ("Ерлан\u{7} Қасымов", Some("Ерлан Қасымов")),
            ("\u{1b}[31mИван", Some("[31mИван")),
            ("Мария\r\nИванова", Some("Мария Иванова")),
            ("Ольга О'Брайен-Жұмабаева", Some("Ольга О'Брайен-Жұмабаева")),
            ("", None),
            ("\u{0}\u{1}", None),
        ] {
            let c = normalize_caller(&caller(None, Some(name)));
            assert_eq!(c.name.as_deref(), expect, "{name:?}");
        }
        let long = "Ә".repeat(limits::NAME_CHARS_MAX + 50);
        let c = normalize_caller(&caller(None, Some(&long)));
        assert_eq!(
            c.name.map(|n| n.chars().count()),
            Some(limits::NAME_CHARS_MAX)
        );
    }
}
