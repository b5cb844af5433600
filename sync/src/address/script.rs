//! Latin letters in addresses: look-alikes typed in Cyrillic words ("Кенесaры" with a Latin
//! `a`, "E10 көшесі") and whole addresses written in Latin letters ("Kenesary 40").
//!
//! A look-alike is converted only in a Cyrillic context: inside a word that has a Cyrillic
//! letter, or in a word made only of look-alikes in an address that has Cyrillic letters
//! elsewhere. A Latin word among Cyrillic ones that is not all look-alikes ("ЖК Highvill") stays
//! as written. An address without any Cyrillic letter is transliterated with the usual
//! Russian/Kazakh table, and the caller marks it: a transliteration is lossy, so a street found
//! through it is only a possible match.

/// Whether `c` is a Cyrillic letter (the Russian and Kazakh alphabets are in this block).
pub(super) fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// Whether `c` is a Latin letter: ASCII, or the Latin-1 and Latin Extended letters of the Kazakh
/// Latin alphabets (ä ğ ı ñ ö ş ū ü, á ǵ ń ó ú ý).
fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || (('\u{00C0}'..='\u{024F}').contains(&c) && c.is_alphabetic())
}

/// The Cyrillic letter a lowercase Latin one stands for when it was typed on the wrong keyboard
/// layout or copied from a document that mixes them: the letters whose shapes are the same in
/// one case or the other (a e o p c y x i, and B E K M H T in capitals).
pub(super) fn look_alike(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'i' => 'і',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        _ => return None,
    })
}

/// What became of a word's Latin letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    /// No Latin letter, or one left as written.
    AsWritten,
    /// Look-alikes replaced by the Cyrillic letters they stand for.
    LookAlikes,
    /// Transliterated from a Latin-only address.
    Transliterated,
}

/// A lowercase word in Cyrillic letters where its Latin ones can be read as such.
/// `address_has_cyrillic`: whether the address the word comes from has any Cyrillic letter.
///
/// Words that start with a digit are left to the number reader (a литера "15B" may stand for В
/// or Б), and so are single letters in a Cyrillic address (a литера or an initial).
pub(super) fn to_cyrillic(word: &str, address_has_cyrillic: bool) -> (String, Script) {
    if !word.chars().any(is_latin) || word.starts_with(|c: char| c.is_ascii_digit()) {
        return (word.to_string(), Script::AsWritten);
    }
    if !address_has_cyrillic {
        return (transliterate(word), Script::Transliterated);
    }
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let has_cyrillic = word.chars().any(is_cyrillic);
    let all_look_alikes = word
        .chars()
        .filter(|c| is_latin(*c))
        .all(|c| look_alike(c).is_some());
    let convert = has_cyrillic
        || (all_look_alikes && (letters > 1 || word.chars().any(|c| c.is_ascii_digit())));
    if !convert {
        return (word.to_string(), Script::AsWritten);
    }
    let converted = word
        .chars()
        .map(|c| {
            if is_latin(c) {
                look_alike(c).unwrap_or(c)
            } else {
                c
            }
        })
        .collect();
    (converted, Script::LookAlikes)
}

fn is_latin_vowel(c: char) -> bool {
    matches!(
        c,
        'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'ä' | 'ö' | 'ü' | 'ū' | 'ı' | 'á' | 'ó' | 'ú'
    )
}

/// A lowercase Latin word in Cyrillic letters: the usual Russian transliteration (sh ch zh kh ts
/// ya yu yo), the Kazakh Latin letters of 2021 and 2018 (ä ğ ı ñ ö ş ū ü, á ǵ ń ó ú ý), `y`
/// after a vowel as `й` and otherwise as `ы`, `i` between a vowel and a consonant as `й`
/// ("Abai", "Seifullin"). Letters it does not know are kept.
pub(super) fn transliterate(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_vowel = i > 0 && is_latin_vowel(chars[i - 1]);
        let digraph = match (c, next) {
            ('s', Some('h'))
                if chars.get(i + 2) == Some(&'c') && chars.get(i + 3) == Some(&'h') =>
            {
                i += 4;
                out.push('щ');
                continue;
            }
            ('s', Some('h')) => Some('ш'),
            ('c', Some('h')) => Some('ч'),
            ('z', Some('h')) => Some('ж'),
            ('k', Some('h')) => Some('х'),
            ('t', Some('s')) => Some('ц'),
            ('y', Some('a')) => Some('я'),
            ('y', Some('u')) => Some('ю'),
            ('y', Some('o')) => Some('ё'),
            ('y', Some('e')) => Some('е'),
            _ => None,
        };
        if let Some(d) = digraph {
            out.push(d);
            i += 2;
            continue;
        }
        let cyrillic = match c {
            'a' => 'а',
            'b' => 'б',
            'c' => 'с',
            'd' => 'д',
            'e' => 'е',
            'f' => 'ф',
            'g' => 'г',
            'h' => 'х',
            'i' if prev_vowel && !next.is_some_and(is_latin_vowel) => 'й',
            'i' => 'и',
            'j' => 'ж',
            'k' => 'к',
            'l' => 'л',
            'm' => 'м',
            'n' => 'н',
            'o' => 'о',
            'p' => 'п',
            'q' => 'к',
            'r' => 'р',
            's' => 'с',
            't' => 'т',
            'u' => 'у',
            'v' => 'в',
            'w' => 'у',
            'x' => {
                out.push('к');
                'с'
            }
            'y' if prev_vowel => 'й',
            'y' => 'ы',
            'z' => 'з',
            'ä' | 'á' => 'ә',
            'ğ' | 'ǵ' => 'ғ',
            'ı' => 'ы',
            'ñ' | 'ń' => 'ң',
            'ö' | 'ó' => 'ө',
            'ş' => 'ш',
            'ç' => 'ч',
            'ū' => 'ұ',
            'ü' | 'ú' => 'ү',
            'ý' => 'й',
            c => c,
        };
        out.push(cyrillic);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_converted_in_a_cyrillic_context_only() {
        let cases: &[(&str, bool, &str, Script)] = &[
            ("кенесaры", true, "кенесары", Script::LookAlikes),
            ("кeнeсaры", true, "кенесары", Script::LookAlikes),
            ("e10", true, "е10", Script::LookAlikes),
            ("eл", true, "ел", Script::LookAlikes),
            ("кyйшi", true, "куйші", Script::LookAlikes),
            // A Latin word that is not all look-alikes stays, and so does a single letter.
            ("highvill", true, "highvill", Script::AsWritten),
            ("b", true, "b", Script::AsWritten),
            ("15b", true, "15b", Script::AsWritten),
            ("кенесары", true, "кенесары", Script::AsWritten),
            // No Cyrillic letter in the address: transliterated.
            ("kenesary", false, "кенесары", Script::Transliterated),
            ("abai", false, "абай", Script::Transliterated),
            ("abylay", false, "абылай", Script::Transliterated),
            ("seifullin", false, "сейфуллин", Script::Transliterated),
            ("zhibek", false, "жибек", Script::Transliterated),
            ("satpayev", false, "сатпаев", Script::Transliterated),
            ("tselinograd", false, "целиноград", Script::Transliterated),
            ("sarayşyq", false, "сарайшык", Script::Transliterated),
            ("shchuchinsk", false, "щучинск", Script::Transliterated),
            ("mäñgilik", false, "мәңгилик", Script::Transliterated),
        ];
        for (word, cyrillic_address, expected, script) in cases {
            assert_eq!(
                to_cyrillic(word, *cyrillic_address),
                (expected.to_string(), *script),
                "{word:?}"
            );
        }
    }
}
