//! How the knowledge base reads words, in Russian and in Kazakh, for tantivy.
//!
//! Citizens write to a bot the way they text: no capitals, no punctuation, often without the
//! Kazakh letters (`куалик` for `куәлік`, `жогалды` for `жоғалды`) and with Russian words in a
//! Kazakh sentence. So every word is lower-cased and folded — Kazakh letters to their nearest
//! Russian ones, `ё` to `е` — on both sides, the articles and the questions, before stemming.
//!
//! - Russian: tantivy's Snowball stemmer (`Language::Russian`) after the fold.
//! - Kazakh: no Snowball stemmer exists; [`KazakhAnalysis`] picks either the duplicate check's
//!   light suffix stripper (`sync::duplicates::kazakh_stem`) or stemmer-free character n-grams
//!   of each word. `r19_knowledge_base_answers_real_questions` measures both on the training part
//!   of the question set; the better one — higher top-1 (what the bot answers with), then higher
//!   top-3 — is [`KAZAKH_ANALYSIS`].

use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

/// Words longer than this many characters are dropped (a pasted link, a hash): no citizen's
/// word is that long.
pub const WORD_CHARS_MAX: usize = 40;
/// Characters per Kazakh n-gram in [`KazakhAnalysis::Ngrams`].
pub const KK_NGRAM_CHARS: usize = 4;

/// The tokenizer name of the Russian fields.
pub const RU_TOKENIZER: &str = "kb_ru";
/// The tokenizer name of the Kazakh fields.
pub const KK_TOKENIZER: &str = "kb_kk";

/// How Kazakh words are reduced before they are indexed and searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KazakhAnalysis {
    /// Plural, possessive, case and common verb suffixes stripped (`жоғалды` → `жоғал`).
    SuffixStem,
    /// Every word as its overlapping [`KK_NGRAM_CHARS`]-character pieces (a word that short or
    /// shorter as itself): no knowledge of the language at all.
    Ngrams,
}

/// What the node uses: the suffix stemmer answered better on the training questions (top-1
/// 0.88 against 0.84 for 4-character n-grams, top-3 0.96 against 0.97; the test prints both).
pub const KAZAKH_ANALYSIS: KazakhAnalysis = KazakhAnalysis::SuffixStem;

/// Question words and particles that say nothing about the topic, after folding.
const STOP_WORDS: &[&str] = &[
    // Russian
    "и",
    "в",
    "во",
    "на",
    "не",
    "что",
    "как",
    "где",
    "куда",
    "когда",
    "мне",
    "меня",
    "мой",
    "моя",
    "мое",
    "мои",
    "у",
    "с",
    "со",
    "по",
    "за",
    "из",
    "к",
    "от",
    "до",
    "для",
    "о",
    "об",
    "а",
    "но",
    "ли",
    "же",
    "бы",
    "это",
    "то",
    "так",
    "я",
    "вы",
    "он",
    "она",
    "они",
    "мы",
    "его",
    "ее",
    "их",
    "нам",
    "вам",
    "можно",
    "нужно",
    "надо",
    "делать",
    "если",
    "или",
    "есть",
    "был",
    "была",
    "было",
    "уже",
    "еще",
    "очень",
    "пожалуйста",
    "здравствуйте",
    "добрый",
    "день",
    "подскажите",
    "скажите",
    "помогите",
    "вопрос",
    "ну",
    "вот",
    "тут",
    "там",
    "какой",
    "какие",
    "чтобы",
    "при",
    "под",
    "без",
    // Kazakh (folded)
    "мен",
    "сен",
    "ол",
    "биз",
    "сиз",
    "сизге",
    "маган",
    "менин",
    "не",
    "кандай",
    "калай",
    "кайда",
    "кашан",
    "керек",
    "бар",
    "жок",
    "жане",
    "бул",
    "да",
    "де",
    "та",
    "те",
    "ма",
    "ме",
    "ба",
    "бе",
    "па",
    "пе",
    "гой",
    "ше",
    "ушин",
    "сол",
    "осы",
    "еди",
    "болса",
    "сәлеметсизбе",
    "салеметсизбе",
    "саламатсызба",
    "сәлем",
    "салем",
    "комектесиниз",
    "айтынызшы",
    "ғой",
];

/// Lower-cases and folds one character: Kazakh letters to their nearest Russian ones.
fn fold_char(c: char) -> char {
    match c {
        'ә' => 'а',
        'ғ' => 'г',
        'қ' => 'к',
        'ң' => 'н',
        'ө' => 'о',
        'ұ' | 'ү' => 'у',
        'һ' => 'х',
        'і' => 'и',
        'ё' => 'е',
        c => c,
    }
}

/// The words of `text`, lower-cased, each with its byte range.
fn words(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push((s, i, text[s..i].to_lowercase()));
        }
    }
    if let Some(s) = start {
        out.push((s, text.len(), text[s..].to_lowercase()));
    }
    out.retain(|(_, _, w)| w.chars().count() <= WORD_CHARS_MAX);
    out
}

fn folded(word: &str) -> String {
    word.chars().map(fold_char).collect()
}

fn is_stop_word(folded: &str) -> bool {
    STOP_WORDS.contains(&folded)
}

/// The language-specific part of a [`KbTokenizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Fold only: the Snowball filter after it stems.
    Russian,
    Kazakh(KazakhAnalysis),
}

/// Words lower-cased and folded, stop words dropped, then (Kazakh) stemmed or cut in n-grams.
#[derive(Debug, Clone)]
struct KbTokenizer {
    mode: Mode,
    tokens: Vec<Token>,
}

/// The stream a [`KbTokenizer`] returns: its tokens, editable by the filters after it.
struct KbOwnedStream<'a> {
    tokens: &'a mut Vec<Token>,
    at: usize,
}

impl TokenStream for KbOwnedStream<'_> {
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

impl Tokenizer for KbTokenizer {
    type TokenStream<'a> = KbOwnedStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> KbOwnedStream<'a> {
        self.tokens.clear();
        for (position, (from, to, word)) in words(text).into_iter().enumerate() {
            let f = folded(&word);
            if is_stop_word(&f) {
                continue;
            }
            let mut push = |text: String| {
                self.tokens.push(Token {
                    offset_from: from,
                    offset_to: to,
                    position,
                    text,
                    position_length: 1,
                })
            };
            match self.mode {
                Mode::Russian => push(f),
                Mode::Kazakh(KazakhAnalysis::SuffixStem) => {
                    // Suffixes are listed with the Kazakh letters: strip before folding.
                    push(folded(&sync::duplicates::kazakh_stem(&word)))
                }
                Mode::Kazakh(KazakhAnalysis::Ngrams) => {
                    let chars: Vec<char> = f.chars().collect();
                    if chars.len() <= KK_NGRAM_CHARS {
                        push(f);
                    } else {
                        for gram in chars.windows(KK_NGRAM_CHARS) {
                            push(gram.iter().collect());
                        }
                    }
                }
            }
        }
        KbOwnedStream {
            tokens: &mut self.tokens,
            at: 0,
        }
    }
}

/// The analyzer of the Russian fields: fold, then tantivy's Russian Snowball stemmer.
pub fn russian() -> TextAnalyzer {
    TextAnalyzer::builder(KbTokenizer {
        mode: Mode::Russian,
        tokens: Vec::new(),
    })
    .filter(Stemmer::new(Language::Russian))
    .build()
}

/// The analyzer of the Kazakh fields.
pub fn kazakh(analysis: KazakhAnalysis) -> TextAnalyzer {
    TextAnalyzer::builder(KbTokenizer {
        mode: Mode::Kazakh(analysis),
        tokens: Vec::new(),
    })
    .build()
}

/// The terms `analyzer` makes of `text`, in order (for tests and query building).
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_typed_without_kazakh_letters_meet_the_written_ones() {
        let mut kk = kazakh(KazakhAnalysis::SuffixStem);
        assert_eq!(
            terms(&mut kk, "Жеке куәлігім жоғалды"),
            terms(&mut kk, "жеке куалигим жогалды")
        );
        let mut ru = russian();
        assert_eq!(
            terms(&mut ru, "Потерял удостоверение!!"),
            vec!["потерял", "удостоверен"]
        );
        assert_eq!(terms(&mut ru, "ёлка"), terms(&mut ru, "елка"));
        let mut ng = kazakh(KazakhAnalysis::Ngrams);
        assert_eq!(
            terms(&mut ng, "жоғалды"),
            vec!["жога", "огал", "галд", "алды"]
        );
        assert!(terms(&mut ru, "как где что").is_empty());
    }
}
