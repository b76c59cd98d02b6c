//! Counting letters and words, for essay section 2, "Where do the probabilities come
//! from?": letter frequencies, letter n-gram models (n = 1..=12) and word 1-, 2- and
//! 3-gram counts, streamed from a [`Corpus`] in one tight byte loop each, and seeded
//! sampling from every model. Nothing here plots.
//!
//! What counts (the same definitions in the CLI, the figures and the tests):
//! - **Letters** are the 26 ASCII letters, upper case folded to lower case. Everything
//!   else — digits, punctuation, white space, accented or non-Latin letters — is not a
//!   letter (so "café" has the letters c, a, f).
//! - **Letter runs** are maximal runs of letters; they are the "words" of the letter
//!   models. A letter n-gram model reads each run with boundary symbols around it:
//!   n-1 in front and one after (`_` when printed), so "cat" gives the 2-grams `_c`,
//!   `ca`, `at`, `t_`. n-grams never cross a run, and a model whose n exceeds the
//!   longest run plus one still works: it can then only reproduce whole runs.
//! - **Words** are maximal runs of letters, case folded, that may hold an apostrophe
//!   (`'` or `’`, kept as `'`) between two letters: "don't", "nation's". A word's
//!   length is its number of letters. Word 2- and 3-grams pair consecutive words of
//!   the same file, across punctuation and sentence ends.
//!
//! Sampling draws from a ChaCha8 generator seeded by the caller, with integer weights
//! and candidates in a fixed order, so a seed gives the same output on every machine.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::corpus::Corpus;
use crate::error::{Error, NgramProblem, Result};

/// The boundary symbol of the letter models (after the letters 0..=25).
pub const BOUNDARY: u8 = 26;
/// The highest letter n-gram order (5 bits per symbol in a `u64` key).
pub const MAX_LETTER_ORDER: usize = 12;

// ---------- hashing and byte classes ----------

/// A small fast hasher for the counters' integer and byte-string keys (multiply-rotate
/// per 8 bytes, then a mixing finish so that low bits depend on every input bit).
/// Deterministic: no random state.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 29)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut v = [0u8; 8];
            v[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(v));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

const APOS: u8 = 26; // '
const E2: u8 = 27; // first byte of ’ (U+2019 = E2 80 99)
const X80: u8 = 28;
const X99: u8 = 29;
const OTHER: u8 = 255;

/// Byte -> letter index 0..=25 (either case), an apostrophe class, or OTHER.
static CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 26 {
        t[b'a' as usize + i] = i as u8;
        t[b'A' as usize + i] = i as u8;
        i += 1;
    }
    t[b'\'' as usize] = APOS;
    t[0xE2] = E2;
    t[0x80] = X80;
    t[0x99] = X99;
    t
};

/// The letter index 0..=25 of an ASCII letter of either case (`b'Q'` -> 16), else None.
pub fn letter_index(b: u8) -> Option<usize> {
    let c = CLASS[b as usize];
    (c < 26).then_some(c as usize)
}

/// The printed form of a letter-model symbol: `a`..`z`, or `_` for the boundary.
pub fn symbol_char(s: u8) -> char {
    if s < 26 {
        (b'a' + s) as char
    } else {
        '_'
    }
}

/// "a".."z" as strings, for labels.
pub fn alphabet() -> Vec<String> {
    (0..26u8).map(|i| symbol_char(i).to_string()).collect()
}

// ---------- letters ----------

/// How often each letter occurs, and how many letter runs there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterCounts {
    /// `counts[i]`: occurrences of letter `i` (0 = a).
    pub counts: [u64; 26],
    /// Number of letter runs (the boundaries a "space" letter stands for).
    pub runs: u64,
}

impl LetterCounts {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// Letter probabilities, summing to 1.
    pub fn probabilities(&self) -> [f64; 26] {
        let total = self.total().max(1) as f64;
        self.counts.map(|c| c as f64 / total)
    }
    /// Counts letters in text already in memory (e.g. a paragraph a student pasted).
    pub fn of_text(text: &str) -> LetterCounts {
        let mut lc = LetterCounts {
            counts: [0; 26],
            runs: 0,
        };
        let mut in_run = false;
        count_letters_into(text.as_bytes(), &mut lc, &mut in_run);
        lc
    }
}

#[inline]
fn count_letters_into(chunk: &[u8], lc: &mut LetterCounts, in_run: &mut bool) {
    for &b in chunk {
        let c = CLASS[b as usize];
        if c < 26 {
            lc.counts[c as usize] += 1;
            lc.runs += !*in_run as u64;
            *in_run = true;
        } else {
            *in_run = false;
        }
    }
}

/// Counts the letters of a corpus (one pass). An error when it holds no letter a-z.
pub fn count_letters(corpus: &Corpus) -> Result<LetterCounts> {
    let mut lc = LetterCounts {
        counts: [0; 26],
        runs: 0,
    };
    let in_run = std::cell::Cell::new(false);
    corpus.stream(
        |chunk| {
            let mut r = in_run.get();
            count_letters_into(chunk, &mut lc, &mut r);
            in_run.set(r);
        },
        || in_run.set(false),
    )?;
    if lc.total() == 0 {
        return Err(Error::Corpus {
            path: corpus.root.clone(),
            msg: "holds no letters a-z; give English text".into(),
        });
    }
    Ok(lc)
}

// ---------- sampling helpers ----------

/// A categorical distribution over `0..weights.len()` with integer weights.
#[derive(Debug, Clone)]
pub struct Categorical {
    cumulative: Vec<u64>,
}

impl Categorical {
    /// An error when every weight is zero.
    pub fn new(weights: &[u64]) -> Result<Categorical> {
        let mut acc = 0u64;
        let cumulative: Vec<u64> = weights
            .iter()
            .map(|&w| {
                acc += w;
                acc
            })
            .collect();
        if acc == 0 {
            return Err(Error::Ngram(NgramProblem::NothingToSample));
        }
        Ok(Categorical { cumulative })
    }
    /// One index, drawn with probability weight / total.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = *self.cumulative.last().expect("non-empty");
        let r = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= r)
    }
}

/// The seeded generator all sampling here uses.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `k` letters drawn independently with the corpus's letter frequencies.
pub fn sample_letters(letters: &LetterCounts, k: usize, seed: u64) -> Result<String> {
    let dist = Categorical::new(&letters.counts)?;
    let mut r = rng(seed);
    Ok((0..k).map(|_| symbol_char(dist.draw(&mut r) as u8)).collect())
}

/// `k` symbols drawn independently from the letters plus a space, the space weighted
/// by the number of letter runs (so it is as frequent as word ends in the corpus).
pub fn sample_letters_with_space(letters: &LetterCounts, k: usize, seed: u64) -> Result<String> {
    let mut w = letters.counts.to_vec();
    w.push(letters.runs);
    let dist = Categorical::new(&w)?;
    let mut r = rng(seed);
    Ok((0..k)
        .map(|_| match dist.draw(&mut r) {
            26 => ' ',
            i => symbol_char(i as u8),
        })
        .collect())
}

/// `n_words` "words" whose lengths are drawn from `lengths` (`lengths[k]`: how many
/// words have k letters) and whose letters are drawn independently by frequency.
pub fn sample_words_with_lengths(
    letters: &LetterCounts,
    lengths: &[u64],
    n_words: usize,
    seed: u64,
) -> Result<Vec<String>> {
    let letter = Categorical::new(&letters.counts)?;
    let length = Categorical::new(lengths)?;
    let mut r = rng(seed);
    Ok((0..n_words)
        .map(|_| {
            let len = length.draw(&mut r);
            (0..len).map(|_| symbol_char(letter.draw(&mut r) as u8)).collect()
        })
        .collect())
}

// ---------- letter n-gram models ----------

/// A letter n-gram model: counts of every n-gram of symbols (letters and the
/// boundary) over the corpus's letter runs, padded as the module docs say.
#[derive(Debug, Clone)]
pub struct LetterModel {
    pub n: usize,
    /// n-gram key (5 bits per symbol, the last symbol lowest) -> count.
    counts: FastMap<u64, u64>,
    /// Letters read.
    pub letters: u64,
    /// Letter runs read.
    pub runs: u64,
    /// The longest letter run.
    pub longest_run: usize,
}

fn check_letter_order(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::Ngram(NgramProblem::ZeroOrder));
    }
    if n > MAX_LETTER_ORDER {
        return Err(Error::Ngram(NgramProblem::LetterOrderTooHigh {
            n,
            max: MAX_LETTER_ORDER,
        }));
    }
    Ok(())
}

/// Streaming state of [`LetterModel::count`].
struct LetterModelCounter {
    n: usize,
    mask: u64,
    start: u64,
    code: u64,
    in_run: bool,
    run_len: usize,
    model: LetterModel,
}

impl LetterModelCounter {
    fn new(n: usize) -> Self {
        let start = (0..n - 1).fold(0u64, |acc, _| (acc << 5) | BOUNDARY as u64);
        let mask = if 5 * n >= 64 { u64::MAX } else { (1u64 << (5 * n)) - 1 };
        LetterModelCounter {
            n,
            mask,
            start,
            code: start,
            in_run: false,
            run_len: 0,
            model: LetterModel {
                n,
                counts: FastMap::default(),
                letters: 0,
                runs: 0,
                longest_run: 0,
            },
        }
    }
    #[inline]
    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            let c = CLASS[b as usize];
            if c < 26 {
                if !self.in_run {
                    self.code = self.start;
                    self.in_run = true;
                    self.run_len = 0;
                }
                self.run_len += 1;
                self.code = ((self.code << 5) | c as u64) & self.mask;
                *self.model.counts.entry(self.code).or_insert(0) += 1;
            } else if self.in_run {
                self.close();
            }
        }
    }
    fn close(&mut self) {
        if self.in_run {
            self.code = ((self.code << 5) | BOUNDARY as u64) & self.mask;
            *self.model.counts.entry(self.code).or_insert(0) += 1;
            self.model.letters += self.run_len as u64;
            self.model.runs += 1;
            self.model.longest_run = self.model.longest_run.max(self.run_len);
            self.in_run = false;
        }
    }
}

impl LetterModel {
    /// Counts the letter n-grams of `corpus` (one pass). Errors: n = 0 or above
    /// [`MAX_LETTER_ORDER`]; a corpus with fewer than n letters.
    pub fn count(corpus: &Corpus, n: usize) -> Result<LetterModel> {
        check_letter_order(n)?;
        let mut counter = LetterModelCounter::new(n);
        let cell = std::cell::RefCell::new(&mut counter);
        corpus.stream(|chunk| cell.borrow_mut().feed(chunk), || cell.borrow_mut().close())?;
        let model = counter.model;
        if (model.letters as usize) < n {
            return Err(Error::Corpus {
                path: corpus.root.clone(),
                msg: format!(
                    "is too small for letter {n}-grams: it has {} letters a-z; give more text or a smaller n",
                    model.letters
                ),
            });
        }
        debug_assert_eq!(counter.n, n);
        Ok(model)
    }

    /// The same model from text in memory.
    pub fn of_text(text: &str, n: usize) -> Result<LetterModel> {
        check_letter_order(n)?;
        let mut counter = LetterModelCounter::new(n);
        counter.feed(text.as_bytes());
        counter.close();
        if (counter.model.letters as usize) < n {
            return Err(Error::Ngram(NgramProblem::TooLittleText {
                n,
                letters: counter.model.letters,
            }));
        }
        Ok(counter.model)
    }

    fn decode(&self, key: u64) -> String {
        (0..self.n)
            .rev()
            .map(|i| symbol_char(((key >> (5 * i)) & 31) as u8))
            .collect()
    }

    /// Number of n-grams counted (letters + runs: each letter and each run end closes one).
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The count of one n-gram written with `_` for the boundary ("th", "_q", "e_").
    pub fn count_of(&self, ngram: &str) -> u64 {
        if ngram.len() != self.n {
            return 0;
        }
        let mut key = 0u64;
        for b in ngram.bytes() {
            let s = if b == b'_' {
                BOUNDARY
            } else {
                match letter_index(b) {
                    Some(i) => i as u8,
                    None => return 0,
                }
            };
            key = (key << 5) | s as u64;
        }
        self.counts.get(&key).copied().unwrap_or(0)
    }

    /// Every n-gram with its count, most frequent first (ties alphabetical).
    pub fn ngrams(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.counts.iter().map(|(&k, &c)| (self.decode(k), c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// For a 2-gram model: `m[first][second]` = P(second | first) over pairs of letters
    /// inside a run (boundaries left out), each row summing to 1 (a row of zeros for a
    /// letter never followed by a letter). Rows are the first letter.
    pub fn letter_pair_matrix(&self) -> Result<Vec<[f64; 26]>> {
        if self.n != 2 {
            return Err(Error::Ngram(NgramProblem::NotPairs { n: self.n }));
        }
        let mut m = vec![[0f64; 26]; 26];
        for (&k, &c) in &self.counts {
            let (a, b) = ((k >> 5) as usize, (k & 31) as usize);
            if a < 26 && b < 26 {
                m[a][b] = c as f64;
            }
        }
        for row in &mut m {
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|v| *v /= s);
            }
        }
        Ok(m)
    }

    /// A sampler that generates runs ("words") letter by letter.
    pub fn sampler(&self) -> LetterSampler {
        let mut next: FastMap<u64, (Vec<u8>, Vec<u64>)> = FastMap::default();
        let mut keys: Vec<(&u64, &u64)> = self.counts.iter().collect();
        keys.sort();
        for (&k, &c) in keys {
            let e = next.entry(k >> 5).or_default();
            e.0.push((k & 31) as u8);
            e.1.push(c);
        }
        let table = next
            .into_iter()
            .map(|(ctx, (syms, w))| (ctx, (syms, Categorical::new(&w).expect("counts are positive"))))
            .collect();
        let ctx_mask = if self.n == 1 {
            0
        } else {
            (1u64 << (5 * (self.n - 1))) - 1
        };
        let start = (0..self.n - 1).fold(0u64, |acc, _| (acc << 5) | BOUNDARY as u64);
        LetterSampler { table, ctx_mask, start }
    }

    /// `k` generated words, seeded (see [`LetterSampler::word`]).
    pub fn sample_words(&self, k: usize, seed: u64) -> Vec<String> {
        let s = self.sampler();
        let mut r = rng(seed);
        (0..k).map(|_| s.word(&mut r)).collect()
    }
}

/// Generates words from a [`LetterModel`]: P(next symbol | previous n-1 symbols).
pub struct LetterSampler {
    table: FastMap<u64, (Vec<u8>, Categorical)>,
    ctx_mask: u64,
    start: u64,
}

/// Longest generated word (a 1-gram model could in principle go on for ever).
const MAX_WORD: usize = 40;

impl LetterSampler {
    /// One word: starts after n-1 boundaries, draws letters until it draws the boundary
    /// (an empty draw, possible only for n = 1, is drawn again; at most 40 letters).
    pub fn word(&self, rng: &mut ChaCha8Rng) -> String {
        loop {
            let mut ctx = self.start;
            let mut w = String::new();
            while w.len() < MAX_WORD {
                // Every context reached was seen in the corpus with a next symbol (see the module docs).
                let Some((syms, dist)) = self.table.get(&(ctx & self.ctx_mask)) else {
                    break;
                };
                let s = syms[dist.draw(rng)];
                if s == BOUNDARY {
                    break;
                }
                w.push(symbol_char(s));
                ctx = (ctx << 5) | s as u64;
            }
            if !w.is_empty() {
                return w;
            }
        }
    }
}

// ---------- words ----------

/// Streaming word tokenizer (see the module docs): feeds lower-case words to `emit`.
#[derive(Default)]
struct WordScanner {
    word: Vec<u8>,
    /// Letters in `word` (its length without apostrophes).
    letters: usize,
    /// 0: none; 1, 2: inside a ’ (E2 80 ..); 3: an apostrophe waiting for a letter.
    apos: u8,
}

impl WordScanner {
    #[inline]
    fn feed(&mut self, chunk: &[u8], letters: &mut [u64; 26], emit: &mut impl FnMut(&[u8], usize)) {
        for &b in chunk {
            let c = CLASS[b as usize];
            if c < 26 {
                letters[c as usize] += 1;
                match self.apos {
                    0 => {}
                    3 => self.word.push(b'\''),
                    _ => self.end(emit),
                }
                self.apos = 0;
                self.word.push(b'a' + c);
                self.letters += 1;
            } else if !self.word.is_empty() {
                self.apos = match (c, self.apos) {
                    (APOS, 0) | (X99, 2) => 3,
                    (E2, 0) => 1,
                    (X80, 1) => 2,
                    _ => {
                        self.end(emit);
                        0
                    }
                };
            }
        }
    }
    #[inline]
    fn end(&mut self, emit: &mut impl FnMut(&[u8], usize)) {
        if !self.word.is_empty() {
            emit(&self.word, self.letters);
            self.word.clear();
            self.letters = 0;
        }
        self.apos = 0;
    }
}

/// Splits text into words as the module docs define them.
pub fn words_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut sc = WordScanner::default();
    let mut letters = [0u64; 26];
    let mut emit = |w: &[u8], _letters: usize| out.push(String::from_utf8_lossy(w).into_owned());
    sc.feed(text.as_bytes(), &mut letters, &mut emit);
    sc.end(&mut emit);
    out
}

/// Word counts of a corpus: every word with its count, word lengths, letters, and
/// (by the order counted) word 2-gram counts and the number of distinct 3-grams.
#[derive(Debug, Clone)]
pub struct WordCounts {
    /// 1, 2 or 3: the longest word n-gram counted.
    pub order: usize,
    /// Letters (as [`count_letters`] counts them).
    pub letters: [u64; 26],
    /// Words read.
    pub total: u64,
    /// `lengths[k]`: words with k letters.
    pub lengths: Vec<u64>,
    /// Distinct words by id (first occurrence order) and their counts.
    pub words: Vec<String>,
    pub counts: Vec<u64>,
    /// (first id << 32 | second id) -> count; empty for order 1.
    pairs: FastMap<u64, u64>,
    /// Distinct word 3-grams (order 3 only).
    pub distinct_triples: usize,
    /// The distinct 3-grams as (first << 64 | second << 32 | third) ids (order 3 only).
    triples: FastSet<u128>,
    /// Word -> id: words of up to 8 bytes in `short` (see [`short_key`]), longer ones in `ids`.
    short: FastMap<u64, u32>,
    ids: FastMap<Box<[u8]>, u32>,
}

/// A word of up to 8 bytes as an integer (zero-padded; words hold no zero bytes, so
/// different words get different keys).
#[inline]
fn short_key(w: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k[..w.len()].copy_from_slice(w);
    u64::from_le_bytes(k)
}

/// Streaming state of [`WordCounts::count`].
struct WordCounter {
    wc: WordCounts,
    triples: FastSet<u128>,
    prev: Option<u32>,
    prev2: Option<u32>,
}

impl WordCounter {
    #[inline]
    fn word(&mut self, w: &[u8], letters: usize) {
        let wc = &mut self.wc;
        // Words of up to 8 bytes (most of them) are keyed by their bytes as one integer.
        let id = if w.len() <= 8 {
            match wc.short.get(&short_key(w)) {
                Some(&id) => id,
                None => wc.add(w),
            }
        } else {
            match wc.ids.get(w) {
                Some(&id) => id,
                None => wc.add(w),
            }
        };
        wc.counts[id as usize] += 1;
        wc.total += 1;
        if letters >= wc.lengths.len() {
            wc.lengths.resize(letters + 1, 0);
        }
        wc.lengths[letters] += 1;
        if wc.order >= 2 {
            if let Some(p) = self.prev {
                *wc.pairs.entry(((p as u64) << 32) | id as u64).or_insert(0) += 1;
                if wc.order >= 3 {
                    if let Some(pp) = self.prev2 {
                        self.triples
                            .insert(((pp as u128) << 64) | ((p as u128) << 32) | id as u128);
                    }
                }
            }
            self.prev2 = self.prev;
            self.prev = Some(id);
        }
    }
}

impl WordCounts {
    /// A new word: its id.
    fn add(&mut self, w: &[u8]) -> u32 {
        let id = self.words.len() as u32;
        if w.len() <= 8 {
            self.short.insert(short_key(w), id);
        } else {
            self.ids.insert(w.into(), id);
        }
        self.words.push(String::from_utf8_lossy(w).into_owned());
        self.counts.push(0);
        id
    }

    /// The id of a word.
    fn id(&self, w: &[u8]) -> Option<u32> {
        if w.len() <= 8 {
            self.short.get(&short_key(w)).copied()
        } else {
            self.ids.get(w).copied()
        }
    }

    /// Counts the words of `corpus` (one pass), and word n-grams up to `order` (1-3).
    /// Errors: an order outside 1..=3; a corpus with fewer than `order` words.
    pub fn count(corpus: &Corpus, order: usize) -> Result<WordCounts> {
        if !(1..=3).contains(&order) {
            return Err(Error::Ngram(NgramProblem::WordOrder { n: order }));
        }
        let wc = WordCounts {
            order,
            letters: [0; 26],
            total: 0,
            lengths: vec![0; 2],
            words: Vec::new(),
            counts: Vec::new(),
            pairs: FastMap::default(),
            distinct_triples: 0,
            triples: FastSet::default(),
            short: FastMap::default(),
            ids: FastMap::default(),
        };
        let mut st = WordCounter {
            wc,
            triples: FastSet::default(),
            prev: None,
            prev2: None,
        };
        let mut sc = WordScanner::default();
        let mut letters = [0u64; 26];
        let cell = std::cell::RefCell::new((&mut sc, &mut st, &mut letters));
        corpus.stream(
            |chunk| {
                let mut g = cell.borrow_mut();
                let (sc, st, letters) = &mut *g;
                sc.feed(chunk, letters, &mut |w, n| st.word(w, n));
            },
            || {
                let mut g = cell.borrow_mut();
                let (sc, st, _) = &mut *g;
                sc.end(&mut |w, n| st.word(w, n));
                // 2-grams do not join two files.
                st.prev = None;
                st.prev2 = None;
            },
        )?;
        // The closures' borrows end here; `cell` (holding &mut borrows) goes out of use.
        let _ = cell.into_inner();
        let mut wc = st.wc;
        wc.distinct_triples = st.triples.len();
        wc.triples = st.triples;
        wc.letters = letters;
        if (wc.total as usize) < order {
            return Err(Error::Corpus {
                path: corpus.root.clone(),
                msg: format!(
                    "is too small for word {order}-grams: it has {} words; give more text",
                    wc.total
                ),
            });
        }
        Ok(wc)
    }

    /// Distinct words.
    pub fn vocabulary(&self) -> usize {
        self.words.len()
    }

    /// Distinct word 2-grams seen (0 for order 1).
    pub fn distinct_pairs(&self) -> usize {
        self.pairs.len()
    }

    /// Distinct words, 2-grams and 3-grams seen that are made only of the `v` most
    /// frequent words (ties alphabetical, as [`WordCounts::top`]); `[0, 0, 0]` for `v` = 0.
    /// These can never exceed `v`, `v²` and `v³`, unlike [`WordCounts::vocabulary`] etc.,
    /// which count every word of the corpus. 2-grams need order >= 2 and 3-grams order 3
    /// (else 0).
    pub fn distinct_within_top(&self, v: usize) -> [usize; 3] {
        let mut inside = vec![false; self.words.len()];
        for &id in self.ranked().iter().take(v) {
            inside[id as usize] = true;
        }
        let ok = |id: u128| inside[(id & 0xffff_ffff) as usize];
        let pairs = self
            .pairs
            .keys()
            .filter(|&&k| ok((k >> 32) as u128) && ok(k as u128))
            .count();
        let triples = self
            .triples
            .iter()
            .filter(|&&k| ok(k >> 64) && ok(k >> 32) && ok(k))
            .count();
        [v.min(self.words.len()), pairs, triples]
    }

    /// The count of a word (0 when absent).
    pub fn count_of(&self, word: &str) -> u64 {
        self.id(word.as_bytes()).map_or(0, |id| self.counts[id as usize])
    }

    /// The count of the 2-gram `first second` (0 when absent or for order 1).
    pub fn pair_count(&self, first: &str, second: &str) -> u64 {
        match (self.id(first.as_bytes()), self.id(second.as_bytes())) {
            (Some(a), Some(b)) => self.pairs.get(&(((a as u64) << 32) | b as u64)).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// Word ids, most frequent first (ties alphabetical).
    fn ranked(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.words.len() as u32).collect();
        ids.sort_by(|&a, &b| {
            self.counts[b as usize]
                .cmp(&self.counts[a as usize])
                .then_with(|| self.words[a as usize].cmp(&self.words[b as usize]))
        });
        ids
    }

    /// The `k` most frequent words with their counts (all when `k` is 0).
    pub fn top(&self, k: usize) -> Vec<(String, u64)> {
        let r = self.ranked();
        let k = if k == 0 { r.len() } else { k.min(r.len()) };
        r[..k]
            .iter()
            .map(|&i| (self.words[i as usize].clone(), self.counts[i as usize]))
            .collect()
    }

    /// The `k` most frequent 2-grams as ("first second", count) (all when `k` is 0).
    pub fn top_pairs(&self, k: usize) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .pairs
            .iter()
            .map(|(&key, &c)| {
                (
                    format!(
                        "{} {}",
                        self.words[(key >> 32) as usize],
                        self.words[(key & 0xffff_ffff) as usize]
                    ),
                    c,
                )
            })
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if k > 0 {
            v.truncate(k);
        }
        v
    }

    /// `k` words drawn independently by frequency from the `vocabulary` most frequent
    /// words (all words when `vocabulary` is 0).
    pub fn sample_independent(&self, k: usize, vocabulary: usize, seed: u64) -> Result<Vec<String>> {
        let mut r = self.ranked();
        if vocabulary > 0 {
            r.truncate(vocabulary);
        }
        let w: Vec<u64> = r.iter().map(|&i| self.counts[i as usize]).collect();
        let dist = Categorical::new(&w)?;
        let mut g = rng(seed);
        Ok((0..k)
            .map(|_| self.words[r[dist.draw(&mut g)] as usize].clone())
            .collect())
    }

    /// `chains` word-2-gram chains of `len` words, each starting with `start` (its
    /// first word), every next word drawn by P(next | word) from the 2-gram counts,
    /// one generator for all (seeded). A chain ends early at a word never followed by
    /// another. Errors: order 1; `start` not in the corpus.
    pub fn sample_chains(&self, start: &str, chains: usize, len: usize, seed: u64) -> Result<Vec<Vec<String>>> {
        if self.order < 2 {
            return Err(Error::Ngram(NgramProblem::NoPairCounts));
        }
        let start_l = start.to_lowercase();
        let Some(first) = self.id(start_l.as_bytes()) else {
            return Err(Error::Ngram(NgramProblem::UnknownStart {
                start: start.to_string(),
            }));
        };
        let mut next: FastMap<u32, Vec<(u32, u64)>> = FastMap::default();
        for (&k, &c) in &self.pairs {
            next.entry((k >> 32) as u32)
                .or_default()
                .push(((k & 0xffff_ffff) as u32, c));
        }
        let table: FastMap<u32, (Vec<u32>, Categorical)> = next
            .into_iter()
            .map(|(a, mut v)| {
                v.sort();
                let w: Vec<u64> = v.iter().map(|x| x.1).collect();
                (
                    a,
                    (
                        v.into_iter().map(|x| x.0).collect(),
                        Categorical::new(&w).expect("positive counts"),
                    ),
                )
            })
            .collect();
        let mut g = rng(seed);
        Ok((0..chains)
            .map(|_| {
                let mut chain = vec![first];
                while chain.len() < len {
                    let Some((ids, dist)) = table.get(chain.last().expect("non-empty")) else {
                        break;
                    };
                    chain.push(ids[dist.draw(&mut g)]);
                }
                chain.into_iter().map(|i| self.words[i as usize].clone()).collect()
            })
            .collect())
    }

    /// P(word has k letters) for k = 0.. (index 0 is always 0).
    pub fn length_distribution(&self) -> Vec<f64> {
        let t = self.total.max(1) as f64;
        self.lengths.iter().map(|&c| c as f64 / t).collect()
    }
}
