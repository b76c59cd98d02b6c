//! Tests of the parentheses transformer (src/experiments/parens.rs, essay section 7):
//! the sampled training data is balanced and the trained model (default budget, cached
//! in data/cache/trained) puts > 90% of its probability on legal next tokens, both
//! checked against a hand-written balanced-parentheses checker written here,
//! independently of the library, as is the grammar check the figure draws (and its claim
//! that the 1-block model slips more); training is deterministic for a seed; the trainable
//! GPT-2 learns (its loss falls); bad hyper-parameters are clear errors.

use gpt2_explorer::experiments::parens::{self, ParensConfig, CLOSE, END, OPEN};
use gpt2_explorer::train::{Optimizer, TrainCache, TrainConfig};
use gpt2_explorer::Error;
use rand::SeedableRng;

/// Independent checker on text: which of "(", ")", End may follow `prefix`, and whether
/// `s` is a complete balanced string. A counter that must never go negative.
fn allowed_after(prefix: &str) -> (bool, bool, bool) {
    let mut open = 0i32;
    for c in prefix.chars() {
        open += if c == '(' { 1 } else { -1 };
        assert!(open >= 0, "test bug: {prefix} is not a valid prefix");
    }
    (true, open > 0, open == 0)
}

fn balanced(s: &str) -> bool {
    let mut open = 0i32;
    for c in s.chars() {
        match c {
            '(' => open += 1,
            ')' => {
                open -= 1;
                if open < 0 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    open == 0 && !s.is_empty()
}

fn text(ids: &[i64]) -> String {
    ids.iter().map(|&t| if t == OPEN { '(' } else { ')' }).collect()
}

/// Every valid prefix of length 1..=n written out by hand-rolled recursion.
fn prefixes(n: usize) -> Vec<String> {
    fn go(cur: String, open: i32, n: usize, out: &mut Vec<String>) {
        if cur.len() == n {
            return;
        }
        for (c, d) in [('(', 1), (')', -1)] {
            if open + d >= 0 {
                let next = format!("{cur}{c}");
                out.push(next.clone());
                go(next, open + d, n, out);
            }
        }
    }
    let mut out = Vec::new();
    go(String::new(), 0, n, &mut out);
    out
}

#[test]
fn sampled_sequences_are_balanced_and_fit_the_context() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut max_depth = 0;
    for _ in 0..2000 {
        let s = parens::sample_sequence(&mut rng, 16, 0.3);
        assert!(s.len() <= 16 && s.len() >= 3, "{s:?}");
        assert_eq!(*s.last().unwrap(), END);
        assert!(s[..s.len() - 1].iter().all(|&t| t != END));
        let t = text(&s[..s.len() - 1]);
        assert!(balanced(&t), "unbalanced sample {t}");
        let mut d = 0;
        for c in t.chars() {
            d += if c == '(' { 1 } else { -1 };
            max_depth = max_depth.max(d);
        }
    }
    assert!(max_depth >= 4, "the data never nests deeper than {max_depth}");
    // The library's prefix enumeration agrees with the hand-written one (sizes: Motzkin-like counts).
    let lib: Vec<String> = parens::valid_prefixes(6).iter().map(|p| text(p)).collect();
    let mut mine = prefixes(6);
    let mut lib_sorted = lib.clone();
    mine.sort();
    lib_sorted.sort();
    assert_eq!(lib_sorted, mine);
}

#[test]
fn the_trainable_gpt2_learns_and_training_is_deterministic() {
    let tiny = |seed| ParensConfig {
        n_layer: 1,
        n_head: 2,
        n_embd: 16,
        max_len: 8,
        p_end: 0.3,
        train: TrainConfig {
            seed,
            optimizer: Optimizer::Adam,
            lr: 1e-2,
            iterations: 40,
            batch_size: 16,
            progress: false,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = TrainCache::in_dir(dir.path());
    let a = parens::train_model(&tiny(3), &cache).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let b = parens::train_model(&tiny(3), &TrainCache::in_dir(dir2.path())).unwrap();
    assert!(!a.from_cache && !b.from_cache);
    assert_eq!(a.history, b.history, "same seed, different loss history");
    let c = parens::train_model(&tiny(4), &TrainCache::in_dir(dir2.path())).unwrap();
    assert_ne!(a.history, c.history);
    let first: f64 = a.history.loss[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = a.history.loss[35..].iter().sum::<f64>() / 5.0;
    // ln 3 = 1.10 is the loss of a uniform guess.
    assert!(
        first > 0.9 && last < first * 0.8,
        "loss did not fall: {first} -> {last}"
    );
    // The cached weights reproduce the trained model's outputs.
    let again = parens::train_model(&tiny(3), &cache).unwrap();
    assert!(again.from_cache);
    assert_eq!(
        again.next_probs(&[OPEN, OPEN, CLOSE]).unwrap(),
        a.next_probs(&[OPEN, OPEN, CLOSE]).unwrap()
    );
    // A corrupted cache file is retrained (train's cache warns on stderr), to the same weights.
    for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if f.path().extension().is_some_and(|e| e == "safetensors") {
            std::fs::write(f.path(), b"garbage").unwrap();
        }
    }
    let retrained = parens::train_model(&tiny(3), &cache).unwrap();
    assert!(!retrained.from_cache, "a corrupt cache file was used");
    assert_eq!(retrained.history, a.history);
}

#[test]
fn bad_settings_are_clear_errors() {
    let mut c = ParensConfig::default_budget(2);
    c.n_embd = 100;
    match c.validate() {
        Err(e @ Error::BadHyperParameter { .. }) => {
            assert!(e.to_string().contains("multiple of the number of heads"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let mut c = ParensConfig::default_budget(2);
    c.train.lr = -1.0;
    assert!(matches!(
        parens::train_model(&c, &TrainCache::in_dir(tempfile::tempdir().unwrap().path())),
        Err(Error::BadHyperParameter { .. })
    ));
    assert!(matches!(
        ParensConfig::named("huge", 2),
        Err(Error::BadHyperParameter { .. })
    ));
    assert!(matches!(parens::parse("(x)"), Err(Error::BadHyperParameter { .. })));
}

#[test]
fn default_budget_model_puts_over_90_percent_on_legal_next_tokens() {
    let t0 = std::time::Instant::now();
    let m = parens::train_model(&ParensConfig::default_budget(2), &TrainCache::default()).unwrap();
    eprintln!(
        "2-block model: from cache {}, {:.0} s, final loss {:?}, test took {:.0} s",
        m.from_cache,
        m.seconds,
        m.history.last(),
        t0.elapsed().as_secs_f64()
    );
    let mut worst = (1.0, String::new());
    for p in prefixes(6) {
        let ids = parens::parse(&p).unwrap();
        let probs = *m.next_probs(&ids).unwrap().last().unwrap();
        let (o, c, e) = allowed_after(&p);
        let legal = [o, c, e]
            .iter()
            .zip(probs)
            .filter(|(ok, _)| **ok)
            .map(|(_, q)| q)
            .sum::<f64>();
        if legal < worst.0 {
            worst = (legal, p.clone());
        }
    }
    assert!(worst.0 > 0.9, "after {:?} only {:.3} on legal tokens", worst.1, worst.0);
    // The essay's two cases, stated directly: after "(()" End is (nearly) impossible,
    // after "()" a ")" is.
    let p = *m.next_probs(&parens::parse("(()").unwrap()).unwrap().last().unwrap();
    assert!(p[END as usize] < 0.1, "{p:?}");
    let p = *m.next_probs(&parens::parse("()").unwrap()).unwrap().last().unwrap();
    assert!(p[CLOSE as usize] < 0.1, "{p:?}");
    // The grammar check the figure reads (library) against this file's checker, on the
    // first 100 of its sequences: the same forbidden mass and the same error count.
    let lib = parens::check_grammar(&m, 1000, 100).unwrap();
    let (mut errors, mut total, mut positions) = (0, 0.0, 0);
    for seq in parens::sample_sequences(1000, 100, m.config.max_len, m.config.p_end) {
        let body = &seq[..seq.len() - 1];
        let t = text(body);
        assert!(balanced(&t), "sampled {t}");
        let probs = m.next_probs(body).unwrap();
        for (i, q) in probs.iter().enumerate() {
            let (o, c, e) = allowed_after(&t[..=i]);
            let forbidden: f64 = [o, c, e].iter().zip(q).filter(|(ok, _)| !**ok).map(|(_, q)| q).sum();
            total += forbidden;
            positions += 1;
            if forbidden > 0.1 {
                errors += 1;
            }
        }
    }
    assert_eq!((lib.positions, lib.errors), (positions, errors));
    assert!((lib.mean_forbidden() - total / positions as f64).abs() < 1e-12);
    // The figure's claim: over 1000 sequences the 2-block model makes no error, and the
    // 1-block model trained with the same budget puts more on forbidden tokens.
    let one = parens::train_model(&ParensConfig::default_budget(1), &TrainCache::default()).unwrap();
    let (c2, c1) = (
        parens::check_grammar(&m, 1000, 1000).unwrap(),
        parens::check_grammar(&one, 1000, 1000).unwrap(),
    );
    eprintln!(
        "errors / mean on forbidden tokens: 2 blocks {} / {:.2e}, 1 block {} / {:.2e}",
        c2.errors,
        c2.mean_forbidden(),
        c1.errors,
        c1.mean_forbidden()
    );
    assert_eq!(
        c2.errors,
        0,
        "2 blocks: worst {} after {}",
        c2.worst,
        parens::render(&c2.worst_prefix)
    );
    assert!(c1.mean_forbidden() > c2.mean_forbidden());
    // The most likely completions of short runs of "(" close exactly what was opened.
    for n in 1..=3 {
        let prefix = vec![OPEN; n];
        let (added, p) = m.complete(&prefix, 8).unwrap().expect("no completion ends");
        let body: Vec<i64> = prefix.iter().chain(&added).copied().filter(|&t| t != END).collect();
        assert!(
            balanced(&text(&body)) && *added.last().unwrap() == END,
            "{n} x '(' completed as {}",
            parens::render(&added)
        );
        assert!(p > 0.0 && p <= 1.0);
    }
}

#[test]
fn both_parens_figures_build_and_agree_with_the_checker() {
    use gpt2_explorer::figures;
    use serde_json::json;
    let ids: Vec<&str> = figures::parens::figures().iter().map(|f| f.id).collect();
    assert_eq!(ids, ["parens-next-token", "parens-completions"]);
    let next = figures::make("parens-next-token", json!({"budget": "default"}), None).unwrap();
    assert!(next.svg().unwrap().contains("<svg"));
    // blocks, sequence, position, token, p_open, p_close, p_end, mean_forbidden,
    // worst_forbidden: a heat-map row's probabilities sum to 1; a grammar-check row has
    // 0 <= mean <= worst <= 1 at every position.
    let mut sampled = 0;
    for r in &next.table.rows {
        if r[1] == "sampled" {
            let (mean, worst): (f64, f64) = (r[7].parse().unwrap(), r[8].parse().unwrap());
            assert!((0.0..=worst).contains(&mean) && worst <= 1.0, "{r:?}");
            sampled += 1;
        } else {
            let s: f64 = r[4..7].iter().map(|v| v.parse::<f64>().unwrap()).sum();
            assert!((s - 1.0).abs() < 1e-9, "{r:?}");
        }
    }
    assert!(
        sampled > 2 * 30,
        "the grammar check covers too few positions: {sampled}"
    );
    assert!(
        next.table.rows.iter().any(|r| r[0] == "1") && next.table.rows.iter().any(|r| r[0] == "2"),
        "both models shown"
    );
    let comp = figures::make("parens-completions", json!({"budget": "default"}), None).unwrap();
    assert!(comp.svg().unwrap().contains("<svg"));
    // opens, completion, balanced, ...: the figure's verdict equals the hand-written checker's.
    for r in &comp.table.rows {
        let n: usize = r[0].parse().unwrap();
        let body: String = r[1].chars().filter(|&c| c == '(' || c == ')').collect();
        let ends = r[1].ends_with(" End");
        let mine = ends && balanced(&format!("{}{body}", "(".repeat(n)));
        assert_eq!(r[2], mine.to_string(), "{r:?}");
    }
    assert_eq!(
        comp.table.rows[0][2], "true",
        "a single '(' was not closed: {:?}",
        comp.table.rows[0]
    );
    assert!(figures::make("parens-next-token", json!({"budget": "huge"}), None).is_err());
}
