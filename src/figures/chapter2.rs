//! Essay section 2, "Where do the probabilities come from? (letters and words)": its
//! figures (see `docs/essay-figures.md`), all counted from real English text —
//! letter counts of two Wikipedia animal articles (stand-ins for the essay's "Cat" and
//! "Dog", which no package registry ships), letter frequencies of the default English
//! sample (State of the Union addresses, Moby-Dick, the Brown corpus), random letters
//! and words drawn from them, the letter 2-gram matrix, words from letter n-gram
//! models, sentences from word frequencies and word 2-grams, and the combinatorics that
//! makes counting hopeless beyond a few words.
//!
//! Every figure takes a `corpus` parameter: "" is the default sample, or a path to the
//! user's own UTF-8 file or folder (`figures::make("letters-english",
//! json!({"corpus": "my.txt"}), None)`). Counts of one corpus are computed once per
//! process and shared by the figures that need them.

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, Plot, Table};
use crate::analysis::ngram::{self, LetterCounts, LetterModel, WordCounts};
use crate::corpus::{self, Corpus};
use crate::error::{Error, Result};
use crate::plot::{BarChart, Colormap, Heatmap, Span, TextPanel, ValueFormat};

const SECTION: &str = super::sections::PROBABILITIES;
const WIDE: (u32, u32) = (1200, 800);
const TALL: (u32, u32) = (1000, 1000);

/// One Wikipedia article of the fetched corpora, by title.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleParams {
    pub article: String,
}

/// A corpus: "" for the default English sample, or a path to a UTF-8 file or folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusParams {
    pub corpus: String,
}

/// `letters` random letters drawn with `seed` from the frequencies of `corpus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LettersParams {
    pub corpus: String,
    pub letters: usize,
    pub seed: u64,
}

/// `words` random words drawn with `seed` from the counts of `corpus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordsParams {
    pub corpus: String,
    pub words: usize,
    pub seed: u64,
}

/// `words` words from each letter n-gram model, n = 1 … `max_n`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NgramWordsParams {
    pub corpus: String,
    pub max_n: usize,
    pub words: usize,
    pub seed: u64,
}

/// `words` words drawn by frequency among the `vocabulary` most common.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyParams {
    pub corpus: String,
    pub vocabulary: usize,
    pub words: usize,
    pub seed: u64,
}

/// `chains` word 2-gram chains of `words` words from `start`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainParams {
    pub corpus: String,
    pub start: String,
    pub chains: usize,
    pub words: usize,
    pub seed: u64,
}

/// The possible n-grams of a vocabulary of `vocabulary` words.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocabularyParams {
    pub corpus: String,
    pub vocabulary: u64,
}

/// The chapter's figures, in essay order.
pub fn figures() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new("letters-cat", SECTION, Made::Corpus, "Letter counts of a real encyclopedia article about an animal: Wikipedia's “{article}” (2014, from gensim's test data), standing in for the essay's article “Cat”, which no package registry ships.", || ArticleParams { article: "Aardvark".into() }, letters_article),
        FigureSpec::new("letters-dog", SECTION, Made::Corpus, "Letter counts of a second article: Wikipedia's “{article}” (2014, from gensim's test data), standing in for the essay's “Dog”. The two profiles are much alike.", || ArticleParams { article: "Aardwolf".into() }, letters_article),
        FigureSpec::new("letters-english", SECTION, Made::Corpus, "Letter counts of a large English sample: 18 MB of State of the Union addresses (1790–2021), Moby-Dick and the Brown corpus (or the corpus given).", CorpusParams::default, letters_english),
        FigureSpec::new("random-letters", SECTION, Made::Corpus, "Letters drawn one at a time, independently, with the frequencies of English (seed {seed}).", || LettersParams { corpus: String::new(), letters: 600, seed: 1 }, random_letters),
        FigureSpec::new("random-letters-space", SECTION, Made::Corpus, "The same, with the space as one more letter, as frequent as word ends in English.", || LettersParams { corpus: String::new(), letters: 600, seed: 2 }, random_letters_space),
        FigureSpec::new("random-words-lengths", SECTION, Made::Corpus, "Random letters again, but each “word” given a length drawn from the distribution of English word lengths.", || WordsParams { corpus: String::new(), words: 100, seed: 3 }, random_words_lengths),
        FigureSpec::new("letter-probabilities", SECTION, Made::Corpus, "The probability of each letter in English text, most common first.", CorpusParams::default, letter_probabilities),
        FigureSpec::new("letter-2gram-heatmap", SECTION, Made::Corpus, "Letter 2-grams: the probability of each second letter (down) given the first letter (across), inside words. The q column is empty but for u.", CorpusParams::default, letter_2gram_heatmap),
        FigureSpec::new("words-from-2grams", SECTION, Made::Corpus, "“Words” generated letter by letter from letter 2-gram probabilities (seed {seed}).", || WordsParams { corpus: String::new(), words: 60, seed: 4 }, words_from_2grams),
        FigureSpec::new("words-from-ngrams", SECTION, Made::Corpus, "Words generated from letter n-gram models for n = 1 … {max_n}: the longer the context, the more English they look.", || NgramWordsParams { corpus: String::new(), max_n: 6, words: 14, seed: 5 }, words_from_ngrams),
        FigureSpec::new("sentence-word-frequencies", SECTION, Made::Corpus, "A “sentence” of words drawn independently by their frequency among the {vocabulary} most common words of the sample (seed {seed}).", || FrequencyParams { corpus: String::new(), vocabulary: 40000, words: 40, seed: 6 }, sentence_word_frequencies),
        FigureSpec::new("sentences-word-2grams", SECTION, Made::Corpus, "{chains} chains of words starting with “{start}”, each next word drawn from the word 2-gram probabilities of the sample (seed {seed}).", || ChainParams { corpus: String::new(), start: "cat".into(), chains: 5, words: 12, seed: 7 }, sentences_word_2grams),
        FigureSpec::new("ngram-combinatorics", SECTION, Made::Corpus, "Why counting cannot go far: with {vocabulary} common words there are billions of possible 2-grams and trillions of 3-grams, against the few million seen in any text.", || VocabularyParams { corpus: String::new(), vocabulary: 40000 }, ngram_combinatorics),
    ]
}

// ---------- shared counts (computed once per corpus and process) ----------

type Cache = Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The corpus of the `corpus` parameter ("" = the default English sample). Skipped
/// files are reported as warnings through the `log` facade.
fn open_corpus(corpus: &str) -> Result<Corpus> {
    let p = corpus;
    let c = Corpus::open_or_default(if p.is_empty() { None } else { Some(Path::new(p)) })?;
    for s in &c.skipped {
        log::warn!("skipped {}: {}", s.path.display(), s.reason);
    }
    Ok(c)
}

fn cached<T: Any + Send + Sync>(key: String, make: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
    if let Some(v) = cache().lock().expect("cache lock").get(&key) {
        if let Ok(v) = v.clone().downcast::<T>() {
            return Ok(v);
        }
    }
    let v = Arc::new(make()?);
    cache().lock().expect("cache lock").insert(key, v.clone());
    Ok(v)
}

fn corpus_key(c: &Corpus) -> String {
    format!("{}|{}|{}", c.root.display(), c.files.len(), c.bytes)
}

/// Word counts with 2-grams and distinct 3-grams.
fn words(corpus: &str) -> Result<(Corpus, Arc<WordCounts>)> {
    let c = open_corpus(corpus)?;
    let w = cached(format!("words3|{}", corpus_key(&c)), || WordCounts::count(&c, 3))?;
    Ok((c, w))
}

fn letter_model(corpus: &str, n: usize) -> Result<(Corpus, Arc<LetterModel>)> {
    let c = open_corpus(corpus)?;
    let m = cached(format!("letters{n}|{}", corpus_key(&c)), || LetterModel::count(&c, n))?;
    Ok((c, m))
}

fn letter_counts(corpus: &str) -> Result<(Corpus, LetterCounts)> {
    let (c, w) = words(corpus)?;
    let runs = letter_model(corpus, 1)?.1.runs;
    Ok((
        c,
        LetterCounts {
            counts: w.letters,
            runs,
        },
    ))
}

/// "State of the Union … (18 MB)" for the default sample, else the path and size.
fn corpus_name(corpus: &str, c: &Corpus) -> String {
    if corpus.is_empty() {
        corpus::DEFAULT_ENGLISH_NAME.to_string()
    } else {
        format!("{} ({})", c.root.display(), c.describe())
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// 1.6e9 -> "1.6 billion", 6.4e13 -> "64 trillion", 40000 -> "40,000".
fn in_words(x: f64) -> String {
    for (scale, name) in [
        (1e15, "quadrillion"),
        (1e12, "trillion"),
        (1e9, "billion"),
        (1e6, "million"),
    ] {
        if x >= scale {
            let v = x / scale;
            return if v >= 10.0 {
                format!("{v:.0} {name}")
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    thousands(x.round() as u64)
}

fn letter_table(counts: &[u64; 26]) -> Table {
    let total: u64 = counts.iter().sum();
    let mut t = Table::new(&["letter", "count", "probability"]);
    for (i, &c) in counts.iter().enumerate() {
        t.push(vec![
            ngram::symbol_char(i as u8).to_string(),
            c.to_string(),
            (c as f64 / total as f64).to_string(),
        ]);
    }
    t
}

fn letter_bars(title: String, subtitle: String, counts: &[u64; 26]) -> Figure {
    let plot = BarChart {
        title,
        subtitle,
        labels: ngram::alphabet(),
        values: counts.iter().map(|&c| c as f64).collect(),
        value_format: ValueFormat::Custom(counts.iter().map(|&c| thousands(c)).collect()),
        x_label: "count".into(),
        highlight: vec![],
    };
    Figure {
        plot: Plot::Bars(plot),
        table: letter_table(counts),
        size: TALL,
    }
}

/// Text as a paragraph broken every `width` characters (for strings without spaces).
fn hard_wrap(s: &str, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(width)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_figure(
    title: &str,
    subtitle: String,
    paragraphs: Vec<Vec<Span>>,
    list: Vec<Vec<Span>>,
    table: Table,
) -> Figure {
    Figure {
        plot: Plot::Text(TextPanel {
            title: title.into(),
            subtitle,
            paragraphs,
            list,
        }),
        table,
        size: WIDE,
    }
}

// ---------- the figures ----------

fn letters_article(_ctx: &Ctx, p: &ArticleParams) -> Result<Figure> {
    let title = p.article.as_str();
    let path = corpus::wikipedia_article(title);
    let c = Corpus::open(&path).map_err(|e| match e {
        Error::Corpus { path, msg } if !path.exists() => Error::Corpus {
            path,
            msg: format!("{msg}; the Wikipedia articles are fetched by `make setup` (scripts/fetch-corpora.sh)"),
        },
        e => e,
    })?;
    let lc = ngram::count_letters(&c)?;
    let plot_title = format!("Letters in the Wikipedia article “{title}”");
    let stand_in = match title {
        "Aardvark" => " · standing in for the essay's “Cat”",
        "Aardwolf" => " · standing in for the essay's “Dog”",
        _ => "",
    };
    let subtitle = format!(
        "English Wikipedia, 2014 (gensim test data, markup stripped){stand_in} · {} letters",
        thousands(lc.total())
    );
    Ok(letter_bars(plot_title, subtitle, &lc.counts))
}

fn letters_english(_ctx: &Ctx, p: &CorpusParams) -> Result<Figure> {
    let (c, lc) = letter_counts(&p.corpus)?;
    Ok(letter_bars(
        "Letters in a large sample of English".into(),
        format!("{} · {} letters", corpus_name(&p.corpus, &c), thousands(lc.total())),
        &lc.counts,
    ))
}

fn random_letters(_ctx: &Ctx, p: &LettersParams) -> Result<Figure> {
    let (c, lc) = letter_counts(&p.corpus)?;
    let (k, seed) = (p.letters, p.seed);
    let text = ngram::sample_letters(&lc, k, seed)?;
    let mut table = Table::new(&["seed", "text"]);
    table.push(vec![seed.to_string(), text.clone()]);
    Ok(text_figure(
        "Random letters with English frequencies",
        format!(
            "{k} letters, seed {seed} · frequencies from {}",
            corpus_name(&p.corpus, &c)
        ),
        vec![vec![Span::generated(hard_wrap(&text, 75))]],
        vec![],
        table,
    ))
}

fn random_letters_space(_ctx: &Ctx, p: &LettersParams) -> Result<Figure> {
    let (c, lc) = letter_counts(&p.corpus)?;
    let (k, seed) = (p.letters, p.seed);
    let text = ngram::sample_letters_with_space(&lc, k, seed)?;
    let p_space = lc.runs as f64 / (lc.total() + lc.runs) as f64;
    let mut table = Table::new(&["seed", "p_space", "text"]);
    table.push(vec![seed.to_string(), p_space.to_string(), text.clone()]);
    Ok(text_figure(
        "Random letters, with the space as a letter",
        format!(
            "{k} symbols, seed {seed}, P(space) = {:.1}% · {}",
            100.0 * p_space,
            corpus_name(&p.corpus, &c)
        ),
        vec![vec![Span::generated(text)]],
        vec![],
        table,
    ))
}

fn random_words_lengths(_ctx: &Ctx, p: &WordsParams) -> Result<Figure> {
    let (c, w) = words(&p.corpus)?;
    let lc = LetterCounts {
        counts: w.letters,
        runs: 0,
    };
    let (k, seed) = (p.words, p.seed);
    let ws = ngram::sample_words_with_lengths(&lc, &w.lengths, k, seed)?;
    let mut table = Table::new(&["length", "probability"]);
    for (len, p) in w.length_distribution().iter().enumerate().skip(1) {
        table.push(vec![len.to_string(), p.to_string()]);
    }
    let mean = w
        .lengths
        .iter()
        .enumerate()
        .map(|(l, &n)| l as f64 * n as f64)
        .sum::<f64>()
        / w.total as f64;
    Ok(text_figure(
        "Random letters in words of English lengths",
        format!(
            "{k} words, seed {seed} · mean English word length {mean:.2} letters · {}",
            corpus_name(&p.corpus, &c)
        ),
        vec![vec![Span::generated(ws.join(" "))]],
        vec![],
        table,
    ))
}

fn letter_probabilities(_ctx: &Ctx, p: &CorpusParams) -> Result<Figure> {
    let (c, lc) = letter_counts(&p.corpus)?;
    let name = corpus_name(&p.corpus, &c);
    let p = lc.probabilities();
    let mut order: Vec<usize> = (0..26).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let plot = BarChart {
        title: "How likely each letter is".into(),
        subtitle: name,
        labels: order.iter().map(|&i| ngram::symbol_char(i as u8).to_string()).collect(),
        values: order.iter().map(|&i| p[i]).collect(),
        value_format: ValueFormat::Percent(1),
        x_label: "probability".into(),
        highlight: vec![0],
    };
    let mut table = Table::new(&["rank", "letter", "probability"]);
    for (r, &i) in order.iter().enumerate() {
        table.push(vec![
            (r + 1).to_string(),
            ngram::symbol_char(i as u8).to_string(),
            p[i].to_string(),
        ]);
    }
    Ok(Figure {
        plot: Plot::Bars(plot),
        table,
        size: TALL,
    })
}

fn letter_2gram_heatmap(_ctx: &Ctx, p: &CorpusParams) -> Result<Figure> {
    let (c, m) = letter_model(&p.corpus, 2)?;
    let pm = m.letter_pair_matrix()?; // pm[first][second]
                                      // Row r (down) is the second letter, column c (across) the first.
    let values: Vec<f64> = (0..26)
        .flat_map(|second| pm.iter().map(move |row| row[second]))
        .collect();
    let mut table = Table::new(&["first", "second", "count", "p_second_given_first"]);
    for (a, row) in pm.iter().enumerate() {
        for (b, &p) in row.iter().enumerate() {
            let pair: String = [ngram::symbol_char(a as u8), ngram::symbol_char(b as u8)]
                .iter()
                .collect();
            table.push(vec![
                pair[..1].to_string(),
                pair[1..].to_string(),
                m.count_of(&pair).to_string(),
                p.to_string(),
            ]);
        }
    }
    let plot = Heatmap {
        title: "Which letter follows which".into(),
        subtitle: format!(
            "P(second | first) for letter pairs inside words · {}",
            corpus_name(&p.corpus, &c)
        ),
        rows: 26,
        cols: 26,
        values,
        row_labels: ngram::alphabet(),
        col_labels: ngram::alphabet(),
        x_label: "first letter".into(),
        y_label: "second letter".into(),
        colormap: Colormap::Greys,
        range: Some((0.0, 1.0)),
        colorbar_label: "probability".into(),
        ..Default::default()
    };
    Ok(Figure {
        plot: Plot::Heatmap(plot),
        table,
        size: TALL,
    })
}

fn words_from_2grams(_ctx: &Ctx, p: &WordsParams) -> Result<Figure> {
    let (c, m) = letter_model(&p.corpus, 2)?;
    let (k, seed) = (p.words, p.seed);
    let ws = m.sample_words(k, seed);
    let mut table = Table::new(&["n", "seed", "word"]);
    for w in &ws {
        table.push(vec!["2".into(), seed.to_string(), w.clone()]);
    }
    Ok(text_figure(
        "“Words” from letter 2-grams",
        format!(
            "{k} words, each letter drawn given the one before, seed {seed} · {}",
            corpus_name(&p.corpus, &c)
        ),
        vec![vec![Span::generated(ws.join(" "))]],
        vec![],
        table,
    ))
}

fn words_from_ngrams(_ctx: &Ctx, p: &NgramWordsParams) -> Result<Figure> {
    let (k, seed, max_n) = (p.words, p.seed, p.max_n);
    let mut table = Table::new(&["n", "seed", "word"]);
    let mut list = Vec::new();
    let mut name = String::new();
    for n in 1..=max_n {
        let (c, m) = letter_model(&p.corpus, n)?;
        name = corpus_name(&p.corpus, &c);
        // Each row its own random stream (seed + n − 1): with one stream for all rows,
        // the models for n = 4 … 6 turn the same draws into nearly the same words.
        let row_seed = seed.wrapping_add(n as u64 - 1);
        let ws = m.sample_words(k, row_seed);
        for w in &ws {
            table.push(vec![n.to_string(), row_seed.to_string(), w.clone()]);
        }
        list.push(vec![
            Span::highlight(format!("n = {n}")),
            Span::plain("   "),
            Span::generated(ws.join(" ")),
        ]);
    }
    Ok(text_figure(
        &format!("Words from letter n-grams, n = 1 … {max_n}"),
        format!(
            "{k} words per model; row n draws from seed {seed} + n − 1 ({seed} … {}) · {name}",
            seed.wrapping_add(max_n as u64 - 1)
        ),
        vec![],
        list,
        table,
    ))
}

fn sentence_word_frequencies(_ctx: &Ctx, p: &FrequencyParams) -> Result<Figure> {
    let (c, w) = words(&p.corpus)?;
    let (v, k, seed) = (p.vocabulary, p.words, p.seed);
    let ws = w.sample_independent(k, v, seed)?;
    let mut table = Table::new(&["position", "word", "count_in_corpus"]);
    for (i, x) in ws.iter().enumerate() {
        table.push(vec![(i + 1).to_string(), x.clone(), w.count_of(x).to_string()]);
    }
    let used = v.min(w.vocabulary());
    Ok(text_figure(
        "A “sentence” of words drawn by frequency",
        format!(
            "{k} words, seed {seed}, from the {} most common of {} distinct words · {}",
            thousands(used as u64),
            thousands(w.vocabulary() as u64),
            corpus_name(&p.corpus, &c)
        ),
        vec![vec![Span::generated(ws.join(" "))]],
        vec![],
        table,
    ))
}

fn sentences_word_2grams(_ctx: &Ctx, p: &ChainParams) -> Result<Figure> {
    let (c, w) = words(&p.corpus)?;
    let (start, n_chains, len, seed) = (p.start.as_str(), p.chains, p.words, p.seed);
    let chains = w.sample_chains(start, n_chains, len, seed)?;
    let mut table = Table::new(&["chain", "seed", "text"]);
    let mut list = Vec::new();
    for (i, ch) in chains.iter().enumerate() {
        table.push(vec![(i + 1).to_string(), seed.to_string(), ch.join(" ")]);
        list.push(vec![
            Span::prompt(ch[0].clone()),
            Span::generated(format!(" {}", ch[1..].join(" "))),
        ]);
    }
    Ok(text_figure(
        &format!("Word 2-gram chains from “{start}”"),
        format!(
            "{n_chains} chains of {len} words, seed {seed} · “{start}” occurs {} times · {}",
            w.count_of(start),
            corpus_name(&p.corpus, &c)
        ),
        vec![],
        list,
        table,
    ))
}

/// A share as a percentage with two significant digits, however small: "100%",
/// "0.051%", "0.0000047%" (a fixed number of decimals prints the small ones as "0.00%").
fn percent_2_digits(share: f64) -> String {
    let pct = 100.0 * share;
    if pct <= 0.0 || !pct.is_finite() {
        return format!("{pct}%");
    }
    let decimals = (1 - pct.log10().floor() as i32).max(0) as usize;
    format!("{pct:.decimals$}%")
}

fn ngram_combinatorics(_ctx: &Ctx, p: &VocabularyParams) -> Result<Figure> {
    let (c, w) = words(&p.corpus)?;
    let v = p.vocabulary;
    let possible = |n: i32| (v as f64).powi(n);
    // Only n-grams made of the vocabulary's words count against what it allows; the
    // corpus-wide numbers (every word, however rare) are in the CSV beside them.
    let seen = w.distinct_within_top(v as usize).map(|n| n as u64);
    let seen_all = [
        w.vocabulary() as u64,
        w.distinct_pairs() as u64,
        w.distinct_triples as u64,
    ];
    let mut table = Table::new(&[
        "n",
        "possible_with_vocabulary",
        "distinct_seen_within_vocabulary",
        "distinct_seen_any_words",
        "corpus_words",
    ]);
    let mut list = Vec::new();
    let names = ["words", "2-grams", "3-grams"];
    for n in 1..=3usize {
        table.push(vec![
            n.to_string(),
            format!("{:.0}", possible(n as i32)),
            seen[n - 1].to_string(),
            seen_all[n - 1].to_string(),
            w.total.to_string(),
        ]);
        list.push(vec![
            Span::highlight(names[n - 1].to_string()),
            Span::plain(format!(
                ":  {}{} = {} possible;   seen in the sample: {} ({})",
                thousands(v),
                ["¹", "²", "³"][n - 1],
                in_words(possible(n as i32)),
                thousands(seen[n - 1]),
                percent_2_digits(seen[n - 1] as f64 / possible(n as i32).max(1.0))
            )),
        ]);
    }
    list.push(vec![Span::plain(format!(
        "(\"seen\" counts only n-grams made of the {} most common words; with every word of the sample, however rare: {} words, {} 2-grams, {} 3-grams)",
        thousands(v),
        thousands(seen_all[0]),
        thousands(seen_all[1]),
        thousands(seen_all[2])
    ))]);
    let para = vec![Span::plain(format!(
        "The sample has {} words in all. Even if every one of them were a different 3-gram, it would cover only {} of the 3-grams that {} words allow: most probabilities cannot be counted, they have to be estimated by a model.",
        thousands(w.total),
        percent_2_digits(w.total as f64 / possible(3)),
        thousands(v)
    ))];
    Ok(text_figure(
        "Counting runs out fast",
        format!("vocabulary of {} words · {}", thousands(v), corpus_name(&p.corpus, &c)),
        vec![para],
        list,
        table,
    ))
}

#[cfg(test)]
mod tests {
    use super::percent_2_digits;

    #[test]
    fn small_shares_keep_two_significant_digits() {
        assert_eq!(percent_2_digits(1.0), "100%");
        assert_eq!(percent_2_digits(818_199.0 / 1.6e9), "0.051%");
        assert_eq!(percent_2_digits(2_009_139.0 / 6.4e13), "0.0000031%");
        assert_eq!(percent_2_digits(0.0), "0%");
    }
}
