//! Tests of the small GPT-2 trained on English text (src/experiments/text_gpt.rs, the
//! figures of src/figures/training.rs, notebook 08): the text, vocabulary, split and
//! entropies against a plain-Python reference (scripts/fixtures/text_gpt_reference.py
//! -> tests/fixtures/training/reference.json); the small budget learns more than letter
//! frequencies (its held-out loss falls below the unigram entropy Python computed) and
//! starts from a uniform guess (ln V); training is deterministic for a seed and cached;
//! head scores against hand-computed values for a uniform pattern; weight counts
//! against published checkpoints; every figure builds and agrees with the library;
//! bad settings are one clear error.

use std::sync::OnceLock;

use gpt2_explorer::analysis::heads::HeadKind;
use gpt2_explorer::experiments::text_gpt::{self, TextData, TextGptConfig, OTHER};
use gpt2_explorer::train::{Optimizer, TrainCache, TrainConfig};
use gpt2_explorer::{figures, Error};
use serde_json::{json, Value};

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/training/reference.json")).unwrap()
}

/// The default English sample with the reference's vocabulary size, read once.
fn data() -> &'static TextData {
    static DATA: OnceLock<TextData> = OnceLock::new();
    DATA.get_or_init(|| {
        TextData::load_default(96).expect("the English sample is missing: run `make setup` (scripts/fetch-corpora.sh)")
    })
}

/// The message of an error that must happen.
fn err<T>(r: gpt2_explorer::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn the_text_matches_the_python_reference() {
    let r = reference();
    let d = data();
    let chars: Vec<String> = d.vocab.chars().iter().map(|c| c.to_string()).collect();
    let want: Vec<String> = r["chars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(chars, want, "vocabulary");
    assert_eq!(d.sha256, r["sha256"].as_str().unwrap(), "normalised text");
    assert_eq!(d.train.len() as u64, r["train_len"].as_u64().unwrap());
    assert_eq!(d.held_out.len() as u64, r["held_out_len"].as_u64().unwrap());
    let counts = |k: &str| -> Vec<u64> { r[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect() };
    assert_eq!(d.train_counts, counts("train_counts"));
    assert_eq!(d.held_out_counts, counts("held_out_counts"));
    let ids = |k: &str| -> Vec<u8> {
        r[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect()
    };
    assert_eq!(d.train[..64], ids("train_ids_first_64")[..]);
    assert_eq!(d.held_out[..64], ids("held_out_ids_first_64")[..]);
    let (h1, h2) = (
        r["unigram_entropy"].as_f64().unwrap(),
        r["bigram_entropy"].as_f64().unwrap(),
    );
    assert!(close(d.unigram_entropy(), h1, 1e-9), "{} vs {h1}", d.unigram_entropy());
    assert!(close(d.bigram_entropy(), h2, 1e-9), "{} vs {h2}", d.bigram_entropy());
}

#[test]
fn normalising_and_the_vocabulary_by_hand() {
    assert_eq!(text_gpt::normalise("  Call me\n\n Ishmael.\t\r\n"), "Call me Ishmael.");
    assert_eq!(
        text_gpt::normalise("a\u{a0}b"),
        "a\u{a0}b",
        "only ASCII blanks are folded"
    );
    assert_eq!(text_gpt::normalise(" \n\t"), "");
    // "abbccc": c 3, b 2, a 1; a tie between x and y (1 each) goes to the smaller code point.
    let d = TextData::from_text("abbcccxy", 4, "hand").unwrap();
    assert_eq!(d.vocab.chars(), &['c', 'b', 'a', OTHER]);
    assert_eq!(d.vocab.encode("ab z\n"), vec![2, 1, 3, 3]);
    assert_eq!(d.vocab.decode(&[0, 1, 3]).unwrap(), "cb¤");
    assert!(matches!(
        d.vocab.decode(&[4]),
        Err(Error::BadTokenId { id: 4, vocab: 4 })
    ));
    // Split: character i is held out when (i / 4096) % 20 == 19.
    let text: String = (0..20 * 4096 + 10)
        .map(|i| if i % 2 == 0 { 'a' } else { 'b' })
        .collect();
    let d = TextData::from_text(&text, 3, "hand").unwrap();
    assert_eq!(d.held_out.len(), 4096);
    assert_eq!(d.train.len(), 19 * 4096 + 10);
    assert!(close(d.unigram_entropy(), std::f64::consts::LN_2, 1e-6));
    assert!(d.bigram_entropy() < 1e-3, "b always follows a: {}", d.bigram_entropy());
    for size in [0, 1, 257] {
        assert!(matches!(
            TextData::from_text("abc", size, "hand"),
            Err(Error::BadHyperParameter { .. })
        ));
    }
}

#[test]
fn weight_counts_match_published_checkpoints() {
    // Counted from the released checkpoints' tensor shapes (hand-checked sums).
    assert_eq!(text_gpt::gpt2_weights(50257, 1024, 768, 12), 124_439_808);
    assert_eq!(text_gpt::gpt2_weights(50257, 1024, 1600, 48), 1_557_611_200);
    // GPT-3 175B (96 blocks, width 12288, context 2048): about 175 billion.
    let g3 = text_gpt::gpt2_weights(50257, 2048, 12288, 96) as f64;
    assert!((g3 / 175e9 - 1.0).abs() < 0.01, "{g3}");
    // The model code's own tensors add up to the formula.
    let cfg = TextGptConfig::small_budget();
    let (_vs, m) =
        gpt2_explorer::train::seeded(0, |p| gpt2_explorer::Gpt2::new_trainable(p, cfg.gpt2_config(96))).unwrap();
    assert_eq!(
        text_gpt::count_weights(&m).unwrap(),
        text_gpt::gpt2_weights(96, 64, 64, 2)
    );
}

/// A uniform causal pattern on a shuffled alphabet and its repeat scores, by hand: row i
/// puts 1/(i+1) on each position; previous-token: rows 1..T, one target each;
/// duplicate and induction: rows n..T (second copy), one target each.
#[test]
fn head_scores_of_a_uniform_head_by_hand() {
    let n = 7usize;
    let tokens: Vec<u32> = (0..n as u32).chain(0..n as u32).collect();
    let t = 2 * n;
    let prev: f64 = (1..t).map(|i| 1.0 / (i + 1) as f64).sum::<f64>() / t as f64;
    let second: f64 = (n..t).map(|i| 1.0 / (i + 1) as f64).sum::<f64>() / t as f64;
    let got = text_gpt::uniform_scores(&tokens);
    for (k, want) in [(0, prev), (1, second), (2, second)] {
        assert!(
            close(got[k], want, 1e-12),
            "{:?}: {} vs {want}",
            HeadKind::ALL[k],
            got[k]
        );
    }
    // The shuffled alphabet: n distinct letters, then the same again.
    let d = data();
    let s = text_gpt::repeated_letters(&d.vocab, 26, 3).unwrap();
    let text = d.vocab.decode(&s).unwrap();
    let (a, b) = text.split_at(26);
    assert_eq!(a, b);
    let mut sorted: Vec<char> = a.chars().collect();
    sorted.sort();
    assert_eq!(sorted.iter().collect::<String>(), "abcdefghijklmnopqrstuvwxyz");
    assert_ne!(
        text_gpt::repeated_letters(&d.vocab, 26, 4).unwrap(),
        s,
        "another seed, another order"
    );
    assert!(text_gpt::repeated_letters(&d.vocab, 27, 3).is_err());
}

fn tiny(seed: u64) -> TextGptConfig {
    TextGptConfig {
        n_layer: 2,
        n_head: 2,
        n_embd: 32,
        n_ctx: 32,
        vocab_size: 96,
        checkpoints: vec![0, 10, 30],
        train: TrainConfig {
            seed,
            optimizer: Optimizer::Adam,
            lr: 3e-3,
            iterations: 30,
            batch_size: 8,
            progress: false,
        },
    }
}

#[test]
fn training_is_deterministic_and_cached() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let d = data();
    let first = text_gpt::train_model(&tiny(5), d, &TrainCache::in_dir(a.path())).unwrap();
    assert!(!first.from_cache && first.train_seconds > 0.0);
    let again = text_gpt::train_model(&tiny(5), d, &TrainCache::in_dir(a.path())).unwrap();
    assert!(again.from_cache, "the second run loads the cache");
    let elsewhere = text_gpt::train_model(&tiny(5), d, &TrainCache::in_dir(b.path())).unwrap();
    assert!(!elsewhere.from_cache);
    assert_eq!(first.history, again.history);
    assert_eq!(first.history, elsewhere.history, "same seed, same losses, bit for bit");
    assert_eq!(
        again.train_seconds, first.train_seconds,
        "the training time is kept with the weights"
    );
    let samples = |m: &text_gpt::TextGpt| -> Vec<String> {
        m.checkpoints
            .iter()
            .map(|c| text_gpt::sample(&c.model, &m.vocab, "The ", 40, 0.8, 2).unwrap())
            .collect()
    };
    let s = samples(&first);
    assert_eq!(s, samples(&again), "checkpoint samples from the cache");
    assert_eq!(s, samples(&elsewhere), "checkpoint samples of a second training");
    assert_eq!(s.len(), 3);
    assert_ne!(s[0], s[2], "training changes what the model writes");
    assert_eq!(first.held_out_loss(d).unwrap(), elsewhere.held_out_loss(d).unwrap());
    let other = text_gpt::train_model(&tiny(6), d, &TrainCache::in_dir(a.path())).unwrap();
    assert!(
        !other.from_cache && other.history != first.history,
        "another seed trains anew"
    );
    // One safetensors and one JSON note per configuration, no temporary files left.
    let names: Vec<String> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".safetensors")).count(),
        2,
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| n.starts_with("text-gpt-") && !n.ends_with(".tmp")),
        "{names:?}"
    );
}

/// The small budget (shared with the notebook's exercises, cached in data/cache/trained)
/// starts at a uniform guess and ends below what letter frequencies alone give, on text
/// it never trained on.
#[test]
fn the_small_budget_learns_more_than_letter_frequencies() {
    let r = reference();
    let d = data();
    let cfg = TextGptConfig::small_budget();
    let m = text_gpt::train_model(&cfg, d, &TrainCache::default()).unwrap();
    let held = m.held_out_loss(d).unwrap();
    let ln_v = (d.vocab.len() as f64).ln();
    assert!(
        close(held[0], ln_v, 0.1),
        "before training: {} vs ln V = {ln_v}",
        held[0]
    );
    let unigram = r["unigram_entropy"].as_f64().unwrap();
    let last = *held.last().unwrap();
    assert!(
        last < unigram - 0.3,
        "held-out loss {last} not below the unigram entropy {unigram} - 0.3"
    );
    assert!(
        held.windows(2).filter(|w| w[1] > w[0] + 0.05).count() == 0,
        "held-out loss jumps up: {held:?}"
    );
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let h = &m.history.loss;
    let (start, end) = (mean(&h[..20]), mean(&h[h.len() - 20..]));
    assert!(
        end < start - 0.6,
        "training loss barely falls: {start} -> {end}; held-out {held:?}"
    );
    // The step-0 model predicts about uniformly on the shuffled alphabet too.
    let rep = text_gpt::head_report(&m.checkpoints[0].model, &m.vocab, 26, 2, 1).unwrap();
    assert!(
        close(rep.first_copy_loss, ln_v, 0.1) && close(rep.second_copy_loss, ln_v, 0.1),
        "{rep:?}"
    );
    let (l, h, s) = rep.best(HeadKind::PreviousToken);
    assert_eq!(s, rep.scores[0][l][h]);
    assert!(rep.scores[0].iter().flatten().all(|&x| x <= s));
}

#[test]
fn the_figures_build_and_agree_with_the_library() {
    let r = reference();
    let small = json!({"budget": "small"});
    let loss = figures::make("text-training-loss", small.clone(), None).unwrap();
    let refs: Vec<&Vec<String>> = loss.table.rows.iter().filter(|row| row[1].is_empty()).collect();
    assert_eq!(refs.len(), 3);
    let val = |i: usize| refs[i][3].parse::<f64>().unwrap();
    assert!(close(val(0), 96f64.ln(), 1e-12));
    assert!(close(val(1), r["unigram_entropy"].as_f64().unwrap(), 1e-9));
    assert!(close(val(2), r["bigram_entropy"].as_f64().unwrap(), 1e-9));
    let cfg = TextGptConfig::small_budget();
    let batches = loss.table.rows.iter().filter(|row| row[0] == "training batch").count();
    assert_eq!(batches, cfg.train.iterations);

    let fig = figures::make(
        "text-training-samples",
        json!({"budget": "small", "chars": 30, "seed": 4}),
        None,
    )
    .unwrap();
    let m = text_gpt::train_model(&cfg, data(), &TrainCache::default()).unwrap();
    assert_eq!(fig.table.rows.len(), cfg.checkpoints.len());
    for (row, c) in fig.table.rows.iter().zip(&m.checkpoints) {
        assert_eq!(row[0], c.step.to_string());
        assert_eq!(
            row[4],
            text_gpt::sample(&c.model, &m.vocab, "The ", 30, 0.8, 4).unwrap()
        );
        assert_eq!(row[4].chars().count(), 30);
    }

    let heads = figures::make(
        "heads-during-training",
        json!({"budget": "small", "sequences": 1}),
        None,
    )
    .unwrap();
    let want = cfg.checkpoints.len() * (3 * (cfg.n_layer * cfg.n_head + 1) + 2);
    assert_eq!(heads.table.rows.len(), want);

    let cost = figures::make("training-cost", small, None).unwrap();
    let gpt3 = cost.table.rows.iter().find(|row| row[0] == "GPT-3 (175B)").unwrap();
    // 6 x 175e9 x 300e9 = 3.15e23, and the paper's Table D.1 says 3.14e23.
    let (est, published) = (gpt3[4].parse::<f64>().unwrap(), gpt3[5].parse::<f64>().unwrap());
    assert!(
        close(est, 3.15e23, 1e20) && (est / published - 1.0).abs() < 0.01,
        "{est} {published}"
    );
    let ours = cost.table.rows.last().unwrap();
    assert_eq!(ours[2], (cfg.train.iterations * cfg.tokens_per_step()).to_string());
    assert_eq!(ours[1], text_gpt::gpt2_weights(96, 64, 64, 2).to_string());
    for fig in [&loss, &heads, &cost] {
        assert!(fig.png().unwrap().len() > 1000);
    }
}

#[test]
fn bad_settings_are_one_clear_error() {
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let cache = TrainCache::in_dir(dir.path());
    let bad = |f: &dyn Fn(&mut TextGptConfig)| {
        let mut c = tiny(1);
        f(&mut c);
        match text_gpt::train_model(&c, d, &cache) {
            Err(e @ Error::BadHyperParameter { .. }) => e.to_string(),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("trained with bad settings {c:?}"),
        }
    };
    assert!(bad(&|c| c.n_embd = 31).contains("multiple of the number of heads"));
    assert!(bad(&|c| c.checkpoints = vec![0, 40]).contains("checkpoints"));
    assert!(bad(&|c| c.checkpoints = vec![10, 0]).contains("increasing"));
    assert!(bad(&|c| c.checkpoints = vec![]).contains("checkpoints"));
    assert!(bad(&|c| c.n_ctx = 2).contains("context window"));
    assert!(bad(&|c| c.vocab_size = 50).contains("TextData::load"));
    assert!(bad(&|c| c.train.lr = -1.0).contains("learning rate"));
    assert!(TextGptConfig::named("huge")
        .unwrap_err()
        .to_string()
        .contains("\"small\", \"default\" or \"full\""));
    // Too little text for a window of held-out text.
    let short = TextData::from_text(&"the cat sat. ".repeat(100), 96, "a short text").unwrap();
    let e = err(text_gpt::train_model(&tiny(1), &short, &cache));
    assert!(
        e.contains("held-out text of a short text") && e.contains("81920"),
        "{e}"
    );
    // A corpus that is not there names `make setup` or the path.
    let e = TextData::load_path("/no/such/corpus", 96).unwrap_err();
    assert!(matches!(e, Error::Corpus { .. }), "{e}");
    // Reading the heads: too many letters for the context, an empty prompt, a step not kept.
    let m = text_gpt::train_model(&tiny(1), d, &cache).unwrap();
    assert!(text_gpt::head_report(&m.model, &m.vocab, 17, 1, 0)
        .unwrap_err()
        .to_string()
        .contains("half the context"));
    assert!(matches!(
        text_gpt::sample(&m.model, &m.vocab, "", 5, 1.0, 0),
        Err(Error::EmptyPrompt)
    ));
    assert!(matches!(
        text_gpt::sample(&m.model, &m.vocab, "a", 5, -1.0, 0),
        Err(Error::BadTemperature(_))
    ));
    assert!(err(m.checkpoint(11)).contains("[0, 10, 30]"));
    let e = err(figures::make("text-training-loss", json!({"budget": "huge"}), None));
    assert!(e.contains("budget"), "{e}");
    let e = err(figures::make("training-cost", json!({"models": []}), None));
    assert!(e.contains("models"), "{e}");
}
