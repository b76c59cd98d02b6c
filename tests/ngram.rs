//! Essay section 2: letter and word counting, n-gram models and sampling
//! (src/analysis/ngram.rs), corpora and bad input (src/corpus.rs), the `ngrams` CLI,
//! and every chapter-2 figure. References: small texts counted by hand, closed-form
//! probabilities, and collections.Counter counts of the default English sample
//! committed in tests/fixtures/ngram/default_corpus.json (written by make_fixture.py).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gpt2_explorer::analysis::ngram::{self, LetterCounts, LetterModel, WordCounts};
use gpt2_explorer::corpus::{self, Corpus};
use gpt2_explorer::{figures, Error};
use serde_json::{json, Value};

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gpt2-explorer-ngram")
        .tempdir()
        .unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

fn letter(c: char) -> usize {
    c as usize - 'a' as usize
}

fn corpus_error(r: Result<Corpus, Error>) -> String {
    match r {
        Err(e @ Error::Corpus { .. }) => e.to_string(),
        Err(e) => panic!("expected a corpus error, got {e}"),
        Ok(c) => panic!("expected an error, got a corpus of {} files", c.files.len()),
    }
}

// ---------- hand-checked small texts ----------

#[test]
fn letters_and_words_of_a_hand_checked_text() {
    let d = tmp();
    let f = write(d.path(), "t.txt", "The cat sat. The CAT's hat!\n".as_bytes());
    let c = Corpus::open(&f).unwrap();
    let lc = ngram::count_letters(&c).unwrap();
    // The cat sat The CAT s hat: t 6, a 4, h 3, e 2, c 2, s 2 = 19 letters in 7 runs.
    let mut want = [0u64; 26];
    for (ch, n) in [('t', 6), ('a', 4), ('h', 3), ('e', 2), ('c', 2), ('s', 2)] {
        want[letter(ch)] = n;
    }
    assert_eq!(lc.counts, want);
    assert_eq!((lc.total(), lc.runs), (19, 7));
    assert_eq!(LetterCounts::of_text("The cat sat. The CAT's hat!"), lc);

    let w = WordCounts::count(&c, 2).unwrap();
    assert_eq!(w.total, 6);
    assert_eq!(w.letters, want);
    let top: HashMap<String, u64> = w.top(0).into_iter().collect();
    assert_eq!(
        top,
        HashMap::from([
            ("the".into(), 2),
            ("cat".into(), 1),
            ("sat".into(), 1),
            ("cat's".into(), 1),
            ("hat".into(), 1)
        ])
    );
    assert_eq!(w.top(1), vec![("the".to_string(), 2)]);
    assert_eq!(w.lengths, vec![0, 0, 0, 5, 1]);
    let pairs: HashMap<String, u64> = w.top_pairs(0).into_iter().collect();
    assert_eq!(
        pairs,
        HashMap::from([
            ("the cat".into(), 1),
            ("cat sat".into(), 1),
            ("sat the".into(), 1),
            ("the cat's".into(), 1),
            ("cat's hat".into(), 1)
        ])
    );
    assert_eq!(w.pair_count("the", "cat"), 1);
    assert_eq!(w.pair_count("cat", "the"), 0);
}

#[test]
fn letter_ngram_models_of_a_hand_checked_text() {
    let m = LetterModel::of_text("cat cat act", 2).unwrap();
    let got: HashMap<String, u64> = m.ngrams().into_iter().collect();
    let want: HashMap<String, u64> = [
        ("_c", 2),
        ("ca", 2),
        ("at", 2),
        ("t_", 3),
        ("_a", 1),
        ("ac", 1),
        ("ct", 1),
    ]
    .map(|(g, n)| (g.to_string(), n))
    .into();
    assert_eq!(got, want);
    assert_eq!(m.total(), 12);
    assert_eq!((m.letters, m.runs, m.longest_run), (9, 3, 3));

    let m3 = LetterModel::of_text("cat cat act", 3).unwrap();
    let got: HashMap<String, u64> = m3.ngrams().into_iter().collect();
    let want: HashMap<String, u64> = [
        ("__c", 2),
        ("_ca", 2),
        ("cat", 2),
        ("at_", 2),
        ("__a", 1),
        ("_ac", 1),
        ("act", 1),
        ("ct_", 1),
    ]
    .map(|(g, n)| (g.to_string(), n))
    .into();
    assert_eq!(got, want);

    let m1 = LetterModel::of_text("Cat, CAT!", 1).unwrap();
    assert_eq!(
        (m1.count_of("c"), m1.count_of("a"), m1.count_of("t"), m1.count_of("_")),
        (2, 2, 2, 2)
    );

    // The letter-pair matrix: rows are the first letter, P(second | first) inside runs.
    let pm = m.letter_pair_matrix().unwrap();
    assert_eq!(pm[letter('c')][letter('a')], 2.0 / 3.0);
    assert_eq!(pm[letter('c')][letter('t')], 1.0 / 3.0);
    assert_eq!(pm[letter('a')][letter('t')], 2.0 / 3.0);
    assert_eq!(
        pm[letter('t')].iter().sum::<f64>(),
        0.0,
        "t is never followed by a letter"
    );
    assert!(m3.letter_pair_matrix().is_err());
}

#[test]
fn apostrophes_and_non_ascii_letters() {
    let ws = ngram::words_of("Don’t stop, rock 'n' roll; café ÉCOLE naïve o''clock dogs' Bob’s");
    assert_eq!(
        ws,
        ["don't", "stop", "rock", "n", "roll", "caf", "cole", "na", "ve", "o", "clock", "dogs", "bob's"]
    );
    assert_eq!(ngram::letter_index(b'Q'), Some(16));
    assert_eq!(ngram::letter_index(b'\''), None);
    assert_eq!(ngram::letter_index(0xC3), None);
}

#[test]
fn chunk_boundaries_do_not_change_counts() {
    // The reader hands out 1 MiB pieces; shift a phrase with words, ’ and ' across that
    // boundary at every offset and compare with the text counted in one piece.
    let d = tmp();
    let phrase = "Don’t panic, it's fine; Quixotic zebras. ";
    for shift in 0..phrase.len() {
        let mut text = "x".repeat(shift) + " ";
        while text.len() < (1 << 20) + 200 {
            text += phrase;
        }
        let f = write(d.path(), &format!("s{shift}.txt"), text.as_bytes());
        let c = Corpus::open(&f).unwrap();
        let w = WordCounts::count(&c, 1).unwrap();
        let mut want: HashMap<String, u64> = HashMap::new();
        for x in ngram::words_of(&text) {
            *want.entry(x).or_default() += 1;
        }
        let got: HashMap<String, u64> = w.top(0).into_iter().collect();
        assert_eq!(got, want, "shift {shift}");
        assert_eq!(got["don't"], got["panic"], "shift {shift}");
        let m = LetterModel::count(&c, 4).unwrap();
        let mem = LetterModel::of_text(&text, 4).unwrap();
        assert_eq!(m.ngrams(), mem.ngrams(), "shift {shift}");
        std::fs::remove_file(f).unwrap();
    }
}

// ---------- sampling ----------

#[test]
fn seeded_samples_are_reproducible_and_differ_between_seeds() {
    let text = "the cat sat on the mat and the dog sat on the log while the cat ran";
    let m = LetterModel::of_text(text, 3).unwrap();
    assert_eq!(m.sample_words(20, 7), m.sample_words(20, 7));
    assert_ne!(m.sample_words(20, 7), m.sample_words(20, 8));
    let lc = LetterCounts::of_text(text);
    assert_eq!(
        ngram::sample_letters(&lc, 200, 1).unwrap(),
        ngram::sample_letters(&lc, 200, 1).unwrap()
    );
    assert_ne!(
        ngram::sample_letters(&lc, 200, 1).unwrap(),
        ngram::sample_letters(&lc, 200, 2).unwrap()
    );
    assert_eq!(
        ngram::sample_letters_with_space(&lc, 200, 1).unwrap(),
        ngram::sample_letters_with_space(&lc, 200, 1).unwrap()
    );

    let d = tmp();
    let c = Corpus::open(write(d.path(), "t.txt", text.as_bytes())).unwrap();
    let w = WordCounts::count(&c, 2).unwrap();
    assert_eq!(
        w.sample_chains("cat", 3, 10, 5).unwrap(),
        w.sample_chains("cat", 3, 10, 5).unwrap()
    );
    assert_eq!(
        w.sample_independent(30, 0, 5).unwrap(),
        w.sample_independent(30, 0, 5).unwrap()
    );
    assert_ne!(
        w.sample_independent(30, 0, 5).unwrap(),
        w.sample_independent(30, 0, 6).unwrap()
    );
    // Every step of a chain is a 2-gram of the text.
    for chain in w.sample_chains("the", 5, 12, 1).unwrap() {
        assert_eq!(chain[0], "the");
        for p in chain.windows(2) {
            assert!(w.pair_count(&p[0], &p[1]) > 0, "{} {} is not in the text", p[0], p[1]);
        }
    }
}

#[test]
fn sampling_follows_the_counts() {
    // Closed form: "aab" gives P(a) = 2/3, P(b) = 1/3.
    let lc = LetterCounts::of_text("aab");
    let s = ngram::sample_letters(&lc, 60_000, 11).unwrap();
    let a = s.chars().filter(|&c| c == 'a').count() as f64 / 60_000.0;
    assert!((a - 2.0 / 3.0).abs() < 0.01, "P(a) = {a}, want 2/3");
    assert!(s.chars().all(|c| c == 'a' || c == 'b'));
    // With the space: 3 letters and 1 run, so P(space) = 1/4.
    let s = ngram::sample_letters_with_space(&lc, 60_000, 11).unwrap();
    let sp = s.chars().filter(|&c| c == ' ').count() as f64 / 60_000.0;
    assert!((sp - 0.25).abs() < 0.01, "P(space) = {sp}, want 1/4");
    // Word lengths are drawn from the given distribution: only 2 or 5 here.
    let ws = ngram::sample_words_with_lengths(&lc, &[0, 0, 1, 0, 0, 1], 1000, 3).unwrap();
    assert!(ws.iter().all(|w| w.len() == 2 || w.len() == 5));
    let twos = ws.iter().filter(|w| w.len() == 2).count();
    assert!(
        (400..600).contains(&twos),
        "{twos} of 1000 words have length 2, want about 500"
    );
}

#[test]
fn an_order_above_the_longest_word_reproduces_words() {
    let m = LetterModel::of_text("cat dog", 6).unwrap();
    assert_eq!(m.longest_run, 3);
    for w in m.sample_words(50, 1) {
        assert!(w == "cat" || w == "dog", "{w}");
    }
    // n = 1: letters and the boundary by frequency, never an empty word.
    let m1 = LetterModel::of_text("cat dog", 1).unwrap();
    assert!(m1
        .sample_words(100, 2)
        .iter()
        .all(|w| !w.is_empty() && w.chars().all(|c| "catdog".contains(c))));
}

#[test]
fn bad_orders_are_clear_errors() {
    for (n, needle) in [(0, "at least 1"), (13, "up to n = 12")] {
        let e = LetterModel::of_text("hello", n).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
    let e = LetterModel::of_text("ab", 3).unwrap_err().to_string();
    assert!(e.contains("too small") && e.contains("2 letters"), "{e}");
    let d = tmp();
    let c = Corpus::open(write(d.path(), "one.txt", b"hello 123")).unwrap();
    assert!(WordCounts::count(&c, 0).unwrap_err().to_string().contains("1, 2 or 3"));
    assert!(WordCounts::count(&c, 2)
        .unwrap_err()
        .to_string()
        .contains("too small for word 2-grams"));
    let w = WordCounts::count(&c, 1).unwrap();
    assert!(w
        .sample_chains("hello", 1, 3, 0)
        .unwrap_err()
        .to_string()
        .contains("2-gram"));
    let c = Corpus::open(write(d.path(), "digits.txt", b"123 456")).unwrap();
    assert!(ngram::count_letters(&c).unwrap_err().to_string().contains("no letters"));
    let c = Corpus::open(write(d.path(), "two.txt", b"hello world")).unwrap();
    let w = WordCounts::count(&c, 2).unwrap();
    let e = w.sample_chains("zebra", 1, 3, 0).unwrap_err().to_string();
    assert!(e.contains("`zebra` does not occur"), "{e}");
}

// ---------- corpora and bad input ----------

#[test]
fn corpus_paths_that_are_missing_empty_or_not_text() {
    let d = tmp();
    assert!(corpus_error(Corpus::open(d.path().join("nope.txt"))).contains("does not exist"));
    assert!(corpus_error(Corpus::open(write(d.path(), "empty.txt", b""))).contains("is empty"));
    let e = corpus_error(Corpus::open(write(d.path(), "latin1.txt", b"caf\xe9 au lait")));
    assert!(e.contains("not UTF-8") && e.contains("offset 3"), "{e}");
    let e = corpus_error(Corpus::open(write(d.path(), "bin.dat", b"PK\x03\x04\x00\x00abc")));
    assert!(e.contains("binary") && e.contains("offset 4"), "{e}");
    let empty_dir = d.path().join("emptydir");
    std::fs::create_dir(&empty_dir).unwrap();
    assert!(corpus_error(Corpus::open(&empty_dir)).contains("no non-empty files"));
}

#[test]
fn a_folder_skips_files_that_are_not_text() {
    let d = tmp();
    let dir = d.path().join("mixed");
    write(&dir, "a.txt", b"Hello hello");
    write(&dir, "sub/b.txt", "world’s end".as_bytes());
    write(&dir, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    write(&dir, "old.txt", b"na\xefve");
    write(&dir, ".hidden", b"\x00\x01");
    write(&dir, "blank.txt", b"");
    let c = Corpus::open(&dir).unwrap();
    assert_eq!(c.files.len(), 2, "{:?}", c.files);
    let skipped: Vec<String> = c
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.path.file_name().unwrap().to_string_lossy(), s.reason))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].starts_with("image.png looks binary"), "{skipped:?}");
    assert!(skipped[1].starts_with("old.txt is not UTF-8"), "{skipped:?}");
    let w = WordCounts::count(&c, 2).unwrap();
    assert_eq!(w.count_of("hello"), 2);
    assert_eq!(w.count_of("world's"), 1);
    // 2-grams do not join two files.
    assert_eq!(w.pair_count("hello", "world's"), 0);
    assert_eq!(w.distinct_pairs(), 2);

    let bad = d.path().join("bad");
    write(&bad, "x.bin", b"\x00\x00");
    write(&bad, "y.txt", b"\xff\xfe");
    let e = corpus_error(Corpus::open(&bad));
    assert!(e.contains("no UTF-8 text files") && e.contains("2 skipped"), "{e}");
}

// ---------- the default English sample against Python's collections.Counter ----------

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ngram/default_corpus.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn default_corpus() -> Corpus {
    Corpus::default_english()
        .unwrap_or_else(|e| panic!("the default English sample is missing: run `make setup` ({e})"))
}

#[test]
fn default_corpus_counts_match_python_counter() {
    let fx = fixture();
    let c = default_corpus();
    assert_eq!(
        c.files.len() as u64,
        fx["files"].as_u64().unwrap(),
        "a different corpus than the fixture's: rerun make_fixture.py"
    );
    assert_eq!(c.bytes, fx["bytes"].as_u64().unwrap());
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);

    let lc = ngram::count_letters(&c).unwrap();
    for (i, l) in ngram::alphabet().iter().enumerate() {
        assert_eq!(lc.counts[i], fx["letters"][l].as_u64().unwrap(), "letter {l}");
    }
    assert_eq!(lc.runs, fx["runs"].as_u64().unwrap());

    let m = LetterModel::count(&c, 2).unwrap();
    let mut max_diff = 0i64;
    for a in ngram::alphabet() {
        for b in ngram::alphabet() {
            let want = fx["letter_pairs"][format!("{a}{b}")].as_u64().unwrap();
            max_diff = max_diff.max((m.count_of(&format!("{a}{b}")) as i64 - want as i64).abs());
        }
        assert_eq!(
            m.count_of(&format!("_{a}")),
            fx["run_first_letter"][&a].as_u64().unwrap(),
            "_{a}"
        );
        assert_eq!(
            m.count_of(&format!("{a}_")),
            fx["run_last_letter"][&a].as_u64().unwrap(),
            "{a}_"
        );
    }
    assert_eq!(
        max_diff, 0,
        "letter-pair counts differ from Python's by up to {max_diff}"
    );

    let w = WordCounts::count(&c, 2).unwrap();
    assert_eq!(w.total, fx["total_words"].as_u64().unwrap());
    assert_eq!(w.vocabulary() as u64, fx["vocabulary"].as_u64().unwrap());
    assert_eq!(w.letters, lc.counts);
    let top: Vec<Value> = w.top(200).into_iter().map(|(s, n)| json!([s, n])).collect();
    assert_eq!(Value::Array(top), fx["top_words"]);
    for (len, n) in fx["word_lengths"].as_object().unwrap() {
        assert_eq!(
            w.lengths[len.parse::<usize>().unwrap()],
            n.as_u64().unwrap(),
            "words of {len} letters"
        );
    }
    assert_eq!(w.distinct_pairs() as u64, fx["distinct_word_pairs"].as_u64().unwrap());
    let top_pairs: Vec<Value> = w.top_pairs(100).into_iter().map(|(s, n)| json!([s, n])).collect();
    assert_eq!(Value::Array(top_pairs), fx["top_word_pairs"]);
    for (next, n) in fx["cat_followers"].as_object().unwrap() {
        assert_eq!(w.pair_count("cat", next), n.as_u64().unwrap(), "cat {next}");
    }
}

#[test]
fn letter_pair_rows_sum_to_one_and_q_is_followed_by_u() {
    let m = LetterModel::count(&default_corpus(), 2).unwrap();
    let pm = m.letter_pair_matrix().unwrap();
    for (i, row) in pm.iter().enumerate() {
        let s: f64 = row.iter().sum();
        assert!(
            (s - 1.0).abs() < 1e-12,
            "row {} sums to {s}",
            ngram::symbol_char(i as u8)
        );
    }
    let p_u_q = pm[letter('q')][letter('u')];
    assert!(p_u_q > 0.97, "P(u | q) = {p_u_q}");
}

#[test]
fn brown_tags_are_read() {
    let words = corpus::brown_tagged_words(corpus::brown_dir()).unwrap_or_else(|e| panic!("run `make setup`: {e}"));
    assert_eq!(words[0], ("The".to_string(), "at".to_string()));
    assert_eq!(words[1], ("Fulton".to_string(), "np-tl".to_string()));
    assert!((1_100_000..1_250_000).contains(&words.len()), "{} tokens", words.len());
    let tags = corpus::brown_most_frequent_tags(corpus::brown_dir()).unwrap();
    assert_eq!(tags["the"].0, "at");
    assert_eq!(tags["jury"].0, "nn");
    assert_eq!(tags["said"].0, "vbd");
    let d = tmp();
    assert!(corpus::brown_tagged_words(d.path())
        .unwrap_err()
        .to_string()
        .contains("make setup"));
}

// ---------- the CLI ----------

#[test]
fn cli_counts_samples_and_bad_input() {
    let sb = common::Sandbox::new();
    let f = write(sb.root(), "t.txt", b"The cat sat. The CAT's hat!");
    let f = f.to_str().unwrap();
    let v = common::json_ok(&sb.run(&["ngrams", "letters", "--n", "1", "--corpus", f, "--json", "--top", "0"]));
    let got: HashMap<String, u64> = v["ngrams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["ngram"].as_str().unwrap().to_string(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        got,
        HashMap::from([
            ("t".into(), 6),
            ("a".into(), 4),
            ("h".into(), 3),
            ("e".into(), 2),
            ("c".into(), 2),
            ("s".into(), 2),
            ("_".into(), 7)
        ])
    );
    assert_eq!(v["total"], 26);

    let o = sb.run(&["ngrams", "words", "--n", "2", "--corpus", f, "--csv"]);
    let text = common::stdout(&o);
    assert!(text.starts_with("ngram,count,probability\n"), "{text}");
    assert!(text.contains("the cat,1,0.2\n"), "{text}");

    let a = sb.run(&[
        "ngrams", "letters", "--n", "3", "--corpus", f, "--sample", "5", "--seed", "9",
    ]);
    let b = sb.run(&[
        "ngrams", "letters", "--n", "3", "--corpus", f, "--sample", "5", "--seed", "9",
    ]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(common::stdout(&a).split_whitespace().count(), 5);
    let v = common::json_ok(&sb.run(&[
        "ngrams", "words", "--n", "2", "--corpus", f, "--sample", "4", "--start", "the", "--json",
    ]));
    assert_eq!(v["samples"][0], "the");

    common::assert_one_line_error(
        &sb.run(&["ngrams", "letters", "--n", "0", "--corpus", f]),
        &["at least 1"],
    );
    common::assert_one_line_error(&sb.run(&["ngrams", "words", "--n", "3", "--corpus", f]), &["1 or 2"]);
    common::assert_one_line_error(
        &sb.run(&["ngrams", "letters", "--corpus", "/no/such/file.txt"]),
        &["does not exist"],
    );
    let empty = write(sb.root(), "e.txt", b"");
    common::assert_one_line_error(
        &sb.run(&["ngrams", "letters", "--corpus", empty.to_str().unwrap()]),
        &["empty"],
    );
    let small = write(sb.root(), "small.txt", b"hi");
    common::assert_one_line_error(
        &sb.run(&["ngrams", "letters", "--n", "5", "--corpus", small.to_str().unwrap()]),
        &["too small"],
    );
    common::assert_one_line_error(
        &sb.run(&[
            "ngrams", "words", "--n", "2", "--corpus", f, "--sample", "3", "--start", "zebra",
        ]),
        &["zebra"],
    );

    // A folder with a binary file: a warning line, then the counts.
    let dir = sb.root().join("mixed");
    write(&dir, "a.txt", b"abc");
    write(&dir, "b.bin", b"\x00\x01\x02");
    let o = sb.run(&["ngrams", "letters", "--corpus", dir.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let err = common::stderr(&o);
    assert!(
        err.starts_with("warning: skipped ") && err.contains("b.bin") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(common::json_ok(&o)["total"], 4);
}

// ---------- the figures ----------

const CHAPTER2: [&str; 13] = [
    "letters-cat",
    "letters-dog",
    "letters-english",
    "random-letters",
    "random-letters-space",
    "random-words-lengths",
    "letter-probabilities",
    "letter-2gram-heatmap",
    "words-from-2grams",
    "words-from-ngrams",
    "sentence-word-frequencies",
    "sentences-word-2grams",
    "ngram-combinatorics",
];

#[test]
fn every_chapter2_figure_builds_from_real_text() {
    let ids: Vec<&str> = figures::chapter2::figures().iter().map(|f| f.id).collect();
    assert_eq!(ids, CHAPTER2);
    for id in CHAPTER2 {
        let fig = figures::make(id, Value::Null, None).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(!fig.table.rows.is_empty(), "{id}: empty table");
        let svg = fig.svg().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(svg.len() > 1000, "{id}: svg of {} bytes", svg.len());
    }
    // The heatmap's CSV: the q row holds only u (P(u | q) near 1).
    let fig = figures::make("letter-2gram-heatmap", Value::Null, None).unwrap();
    let qu: f64 = fig.table.rows.iter().find(|r| r[0] == "q" && r[1] == "u").unwrap()[3]
        .parse()
        .unwrap();
    assert!(qu > 0.97, "{qu}");
    // The cat/dog stand-ins are named.
    let specs = figures::chapter2::figures();
    let caption = |i: usize| specs[i].caption(&specs[i].params().unwrap());
    assert!(caption(0).contains("Aardvark") && caption(0).contains("Cat"));
    assert!(caption(1).contains("Aardwolf") && caption(1).contains("Dog"));
    // Chains start with "cat"; a user's corpus can replace the default.
    let fig = figures::make("sentences-word-2grams", Value::Null, None).unwrap();
    assert_eq!(fig.table.rows.len(), 5);
    assert!(fig.table.rows.iter().all(|r| r[2].starts_with("cat ")));
    let d = tmp();
    let own = write(d.path(), "own.txt", b"my cat likes my dog and my dog likes my cat");
    let fig = figures::make("letters-english", json!({"corpus": own.to_str().unwrap()}), None).unwrap();
    let y: u64 = fig.table.rows.iter().find(|r| r[0] == "y").unwrap()[1].parse().unwrap();
    assert_eq!(y, 4);
    let e = figures::make("letters-english", json!({"corpus": "/no/such/corpus"}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn ngrams_within_the_top_words_never_exceed_the_possible_ones() {
    // Counted by hand: a x4, b x3, c x1, d x1 (ties alphabetical), so the top 2 are a, b.
    let d = tmp();
    let f = write(d.path(), "t.txt", b"a b a c a b d a b");
    let w = WordCounts::count(&Corpus::open(&f).unwrap(), 3).unwrap();
    // 2-grams of {a, b} only: "a b" (x3), "b a" (x1); 3-grams: "a b a" only.
    assert_eq!(w.distinct_within_top(2), [2, 2, 1]);
    // Every word: 4 words, 2-grams ab ba ac ca bd da, 3-grams aba bac aca cab abd bda dab.
    assert_eq!(w.distinct_within_top(10), [4, 6, 7]);
    assert_eq!((w.vocabulary(), w.distinct_pairs(), w.distinct_triples), (4, 6, 7));
    assert_eq!(w.distinct_within_top(0), [0, 0, 0]);

    // The figure: what it says was seen can never exceed what is possible, even when
    // the sample holds more distinct words than the vocabulary (54,047 > 40,000 once).
    let fig = figures::make("ngram-combinatorics", Value::Null, None).unwrap();
    assert_eq!(fig.table.headers[2], "distinct_seen_within_vocabulary");
    for r in &fig.table.rows {
        let possible: f64 = r[1].parse().unwrap();
        let seen: f64 = r[2].parse().unwrap();
        let any: f64 = r[3].parse().unwrap();
        assert!(seen <= possible && seen <= any, "{r:?}");
    }
    let words_any: f64 = fig.table.rows[0][3].parse().unwrap();
    assert!(
        words_any > 40000.0,
        "the sample should have more distinct words than the vocabulary: {words_any}"
    );
    // With a 10-word vocabulary every count is checkable by brute force: at most 10, 100, 1000.
    let fig = figures::make("ngram-combinatorics", json!({"vocabulary": 10}), None).unwrap();
    let seen: Vec<u64> = fig.table.rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(
        seen[0] == 10 && seen[1] <= 100 && seen[2] <= 1000 && seen[1] > 50,
        "{seen:?}"
    );
}
