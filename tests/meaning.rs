//! Meaning space (essay sections 5 and 7): the hidden states that trajectories and
//! contextual vectors are made of equal the HF `transformers` references of the parity
//! fixtures (tests/fixtures/parity); the running mean and the several-token word rule on
//! hand-checked cases; bad input ends in clear errors; and every figure of sections 5
//! and 7 builds on SmolLM2 and on a GPT-2-shaped checkpoint, with a CSV that matches its
//! data file (data/figures/<id>.json). Needs `make setup` (SmolLM2 GGUF, GPT-2 tokenizer).

mod parity_support;

mod common;
use common::{smollm2, tokenizer_dir};

use std::path::{Path, PathBuf};

use gpt2_explorer::analysis::embedding::{self, FanPoint, Trajectory};
use gpt2_explorer::figures::{self, Figure};
use gpt2_explorer::synthetic::{self, Layout};
use gpt2_explorer::{Error, Gpt2, Gpt2Config, LoadedModel, Tokenizer};
use parity_support::{assert_close, Reference, TOL};
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

const IDS: [&str; 10] = [
    "word-embedding-map",
    "raw-embeddings",
    "nouns-map",
    "parts-of-speech-map",
    "crane-senses",
    "analogies",
    "trajectory",
    "next-word-fan",
    "fans-along-trajectory",
    "trajectory-3d",
];

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parity")
        .join(case)
}

/// The synthetic-small checkpoint (GPT-2 shaped, C = 64, 2 blocks) with the genuine
/// GPT-2 tokenizer, loaded as a user would, and its HF reference.
fn synthetic_small() -> (tempfile::TempDir, LoadedModel, Reference) {
    let r = Reference::load(&fixture("synthetic-small"));
    let cfg: Gpt2Config = serde_json::from_value(r.json["config"].clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synthetic::write_checkpoint(dir.path(), &cfg, r.json["master_seed"].as_u64().unwrap(), Layout::Hub).unwrap();
    for f in ["vocab.json", "merges.txt"] {
        std::fs::copy(tokenizer_dir().join(f), dir.path().join(f)).unwrap();
    }
    let lm = LoadedModel::load(dir.path().to_str().unwrap(), true).unwrap();
    (dir, lm, r)
}

fn to_tensor(rows: &[Vec<f64>]) -> Tensor {
    let c = rows[0].len() as i64;
    Tensor::from_slice(&rows.iter().flatten().copied().collect::<Vec<f64>>()).reshape([rows.len() as i64, c])
}

#[test]
fn trajectory_states_equal_transformers() {
    let (_dir, lm, r) = synthetic_small();
    for p in 0..r.n_prompts() {
        let text = r.json["prompts"][p]["text"].as_str().unwrap();
        for l in 0..2 {
            let t = embedding::trajectory(&lm, text, 0, l, 0, &[]).unwrap();
            assert_eq!(t.ids, r.prompt_ids(p));
            let want = r.t(&format!("p{p}.resid_post.{l}")).unwrap();
            assert_close(
                &format!("trajectory of prompt {p}, block {l}"),
                &to_tensor(&t.states),
                &want.to_kind(Kind::Double),
                TOL,
            );
        }
    }
    // The continuation is the reference's greedy one.
    let g = &r.json["greedy"];
    let p = g["prompt_index"].as_u64().unwrap() as usize;
    let new: Vec<u32> = parity_support::ids(&g["new_ids"]);
    let t = embedding::trajectory(
        &lm,
        r.json["prompts"][p]["text"].as_str().unwrap(),
        new.len(),
        1,
        0,
        &[],
    )
    .unwrap();
    assert_eq!(&t.ids[t.n_prompt..], &new[..]);
    assert_eq!(t.states.len(), t.ids.len());
}

#[test]
fn hidden_states_of_the_tiny_transformers_checkpoint() {
    let r = Reference::load(&fixture("tiny-hf"));
    let model = Gpt2::load(&fixture("tiny-hf"), Device::Cpu).unwrap();
    let lm = LoadedModel {
        name: "tiny-hf".into(),
        path: fixture("tiny-hf"),
        model,
        tokenizer: Tokenizer::from_dir(&tokenizer_dir()).unwrap(),
    };
    for p in 0..r.n_prompts() {
        for l in 0..2 {
            let got = embedding::hidden_states(&lm, &r.prompt_ids(p), l).unwrap();
            assert_close(
                &format!("tiny-hf prompt {p} block {l}"),
                &got,
                r.t(&format!("p{p}.resid_post.{l}")).unwrap(),
                TOL,
            );
        }
    }
}

#[test]
fn contextual_vector_is_the_hidden_state_at_the_word() {
    let (_dir, lm, r) = synthetic_small();
    // "The best thing about AI is its ability to": " ability" is token 2694 at position 7.
    assert_eq!(r.prompt_ids(0)[7], 2694);
    let text = r.json["prompts"][0]["text"].as_str().unwrap();
    let v = embedding::contextual_vector(&lm, text, "ability", 1).unwrap();
    assert_eq!(v.ids, vec![2694]);
    let want = r.t("p0.resid_post.1").unwrap().get(7).to_kind(Kind::Double);
    assert_close(
        "contextual vector of `ability`",
        &Tensor::from_slice(&v.vector),
        &want,
        TOL,
    );
    // At the start of the sentence, without a space: "The".
    let v = embedding::contextual_vector(&lm, text, "the", 0).unwrap();
    assert_close(
        "contextual vector of `The`",
        &Tensor::from_slice(&v.vector),
        &r.t("p0.resid_post.0").unwrap().get(0).to_kind(Kind::Double),
        TOL,
    );
    let e = embedding::contextual_vector(&lm, text, "crane", 0).unwrap_err();
    assert!(
        matches!(e, Error::Word { .. }) && e.to_string().contains("not found"),
        "{e}"
    );
}

#[test]
fn a_word_of_several_tokens_gets_the_mean_of_their_embeddings() {
    let (_dir, lm, _r) = synthetic_small();
    let ids = lm.tokenizer.encode(" zxqvw").unwrap();
    assert!(ids.len() > 1, "{ids:?}");
    let v = embedding::word_vector(&lm, "zxqvw").unwrap();
    assert_eq!(v.ids, ids);
    assert_eq!(v.label(), "zxqvw*");
    let w_e = lm.model.w_e();
    let c = w_e.size()[1];
    for e in [0, 17, c - 1] {
        let want: f64 = ids.iter().map(|&i| w_e.double_value(&[i as i64, e])).sum::<f64>() / ids.len() as f64;
        assert!(
            (v.vector[e as usize] - want).abs() < 1e-6,
            "element {e}: {} vs {want}",
            v.vector[e as usize]
        );
    }
    let one = embedding::word_vector(&lm, "the").unwrap();
    assert_eq!(one.ids, vec![262]);
    assert_eq!(one.label(), "the");
    assert!(matches!(
        embedding::word_vector(&lm, "  ").unwrap_err(),
        Error::Word { .. }
    ));
}

#[test]
fn text_so_far_is_the_running_mean_by_hand() {
    let fan = |state: Vec<f64>| FanPoint {
        id: 1,
        token: "x".into(),
        prob: 0.5,
        state,
    };
    let t = Trajectory {
        layer: 0,
        ids: vec![10, 11, 12, 13],
        tokens: vec!["a".into(), "b".into(), "c".into(), "d".into()],
        n_prompt: 2,
        states: vec![vec![100.0, 100.0], vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 0.0]],
        fans: vec![vec![fan(vec![7.0, 8.0])]],
        fan_positions: vec![2],
    };
    let m = embedding::text_so_far(&t, 1); // position 0 left out
    assert_eq!(
        m.states,
        vec![vec![100.0, 100.0], vec![1.0, 2.0], vec![2.0, 3.0], vec![3.0, 2.0]]
    );
    // After position 2 (states 1 and 2 so far), candidate (7, 8): (1+3+7)/3, (2+4+8)/3.
    assert_eq!(m.fans[0][0].state, vec![11.0 / 3.0, 14.0 / 3.0]);
}

#[test]
fn bad_input_ends_in_clear_errors() {
    let (_dir, lm, _r) = synthetic_small();
    let msg = |r: gpt2_explorer::Result<Figure>| r.err().expect("an error").to_string();
    // Fewer words than the map's two components need.
    let e = msg(figures::make("nouns-map", json!({"words": ["cat", "dog"]}), Some(&lm)));
    assert!(
        e.contains("PCA needs more points than components: got 2 points for 2 components"),
        "{e}"
    );
    let e = msg(figures::make("nouns-map", json!({"words": "cat dog"}), Some(&lm)));
    assert!(
        e.contains("data/figures/nouns-map.json")
            && e.contains("parameter `words`")
            && e.contains("expected a sequence"),
        "{e}"
    );
    let e = msg(figures::make("crane-senses", json!({"layer": 7}), Some(&lm)));
    assert!(e.contains("block 7 does not exist: the model has 2 blocks"), "{e}");
    let e = msg(figures::make("crane-senses", json!({"layer": "deep"}), Some(&lm)));
    assert!(e.contains("\"first\", \"middle\", \"last\""), "{e}");
    let e = msg(figures::make("crane-senses", json!({"word": "heron"}), Some(&lm)));
    assert!(e.contains("word `heron`: not found"), "{e}");
    let e = msg(figures::make(
        "analogies",
        json!({"relations": {"r": [["man"]]}}),
        Some(&lm),
    ));
    assert!(
        e.contains("parameter `relations.r[0]`") && e.contains("expected an array of length 2"),
        "{e}"
    );
    let e = msg(figures::make("trajectory", json!({"points": "smooth"}), Some(&lm)));
    assert!(e.contains("parameter `points`") && e.contains("`text-so-far`"), "{e}");
    let e = msg(figures::make("raw-embeddings", json!({"words": [""]}), Some(&lm)));
    assert!(e.contains("empty word"), "{e}");
}

fn data(id: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/figures")
        .join(format!("{id}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn list(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn column(fig: &Figure, name: &str) -> Vec<String> {
    let i = fig
        .table
        .headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", fig.table.headers));
    fig.table.rows.iter().map(|r| r[i].clone()).collect()
}

/// The part-of-speech map: every word of the data file once, each in the class of its
/// most frequent tag in the Brown corpus, counted here independently of the library
/// (`word/tag` tokens, tag suffixes -tl/-hl/-nc dropped, words lower-cased).
fn check_pos_groups(fig: &Figure, d: &Value) {
    let dir = gpt2_explorer::data_cache_dir().join("corpora").join("brown");
    let mut counts: std::collections::HashMap<String, std::collections::HashMap<String, u64>> = Default::default();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}; run `make setup`", dir.display())) {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy() == "README" {
            continue;
        }
        for tok in std::fs::read_to_string(&path).unwrap().split_whitespace() {
            if let Some((w, t)) = tok.rsplit_once('/') {
                let t = t
                    .trim_end_matches("-tl")
                    .trim_end_matches("-hl")
                    .trim_end_matches("-nc");
                *counts
                    .entry(w.to_lowercase())
                    .or_default()
                    .entry(t.to_string())
                    .or_default() += 1;
            }
        }
    }
    let classes = d["classes"].as_object().unwrap();
    let words = list(&d["words"]);
    let (got_words, got_groups) = (column(fig, "word"), column(fig, "group"));
    let mut sorted = got_words.clone();
    sorted.sort();
    let mut want_sorted = words.clone();
    want_sorted.sort();
    assert_eq!(
        sorted, want_sorted,
        "parts-of-speech-map: every word of the data file once"
    );
    for (w, g) in got_words.iter().zip(&got_groups) {
        let tags = &counts[w.as_str()];
        let top = tags
            .iter()
            .max_by_key(|(t, n)| (**n, std::cmp::Reverse((*t).clone())))
            .unwrap()
            .0;
        let want = classes
            .iter()
            .find(|(_, ts)| list(ts).contains(top))
            .map_or(format!("other: {top}"), |(name, _)| name.clone());
        assert_eq!(g, &want, "parts-of-speech-map: `{w}` (Brown tags {tags:?})");
    }
    assert!(
        got_groups.iter().any(|g| g == "other: ql"),
        "very/quite are qualifiers in Brown"
    );
}

/// Builds every figure of sections 5 and 7 and checks its CSV against its data file.
fn check_all_figures(lm: &LoadedModel) {
    for id in IDS {
        let d = data(id);
        let fig = figures::make(id, Value::Null, Some(lm)).unwrap_or_else(|e| panic!("{id} on {}: {e}", lm.name));
        assert!(fig.png().unwrap().len() > 1000, "{id}: PNG");
        let words_in_groups =
            |key: &str| -> Vec<String> { d[key].as_object().unwrap().values().flat_map(list).collect() };
        match id {
            "parts-of-speech-map" => check_pos_groups(&fig, &d),
            "word-embedding-map" => {
                let want = words_in_groups("groups");
                assert_eq!(column(&fig, "word")[..want.len()], want[..], "{id}");
                assert!(column(&fig, "pc1")[..want.len()]
                    .iter()
                    .all(|v| v.parse::<f64>().unwrap().is_finite()));
            }
            "nouns-map" => assert_eq!(column(&fig, "word"), list(&d["words"]), "{id}"),
            "raw-embeddings" => {
                let want: Vec<String> = std::iter::once("element".to_string())
                    .chain(list(&d["words"]))
                    .collect();
                assert_eq!(
                    fig.table
                        .headers
                        .iter()
                        .map(|h| h.trim_end_matches('*').to_string())
                        .collect::<Vec<_>>(),
                    want
                );
                assert_eq!(
                    fig.table.rows.len(),
                    lm.model.info().d_model,
                    "{id}: one row per element"
                );
            }
            "crane-senses" => assert_eq!(column(&fig, "sentence"), words_in_groups("senses"), "{id}"),
            "analogies" => {
                let pairs: Vec<(String, String)> = d["relations"]
                    .as_object()
                    .unwrap()
                    .values()
                    .flat_map(|l| {
                        l.as_array()
                            .unwrap()
                            .iter()
                            .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let got: Vec<(String, String)> = column(&fig, "from").into_iter().zip(column(&fig, "to")).collect();
                assert_eq!(got, pairs, "{id}");
            }
            _ => {
                // Paths: the prompt's tokens (the first left out with skip_first), then
                // `steps` continuation rows, then `top` fan rows per fan.
                let ids = lm.tokenizer.encode(d["prompt"].as_str().unwrap()).unwrap();
                let first = usize::from(d["skip_first"].as_bool().unwrap());
                let steps = d["steps"].as_u64().unwrap_or(0) as usize;
                let kind = column(&fig, if id == "trajectory-3d" { "part" } else { "kind" });
                let got_ids: Vec<u32> = column(&fig, "id").iter().map(|s| s.parse().unwrap()).collect();
                let n_path = ids.len() - first + steps;
                assert_eq!(got_ids[..ids.len() - first], ids[first..], "{id}: prompt tokens");
                assert!(kind[..ids.len() - first].iter().all(|k| k == "prompt"), "{id}");
                assert!(
                    kind[ids.len() - first..n_path].iter().all(|k| k == "continuation"),
                    "{id}: {kind:?}"
                );
                let fans = match id {
                    "next-word-fan" => 1,
                    "fans-along-trajectory" => steps,
                    _ => 0,
                };
                let top = d["top"].as_u64().unwrap_or(0) as usize;
                assert_eq!(kind.len(), n_path + fans * top, "{id}: rows");
                assert!(kind[n_path..].iter().all(|k| k.starts_with("fan")), "{id}");
            }
        }
        eprintln!("{id} on {}: ok", lm.name);
    }
}

#[test]
fn every_figure_builds_on_a_gpt2_shaped_checkpoint() {
    let (_dir, lm, _r) = synthetic_small();
    check_all_figures(&lm);
}

#[test]
fn every_figure_builds_on_smollm2_and_maps_make_sense() {
    let lm = smollm2();
    check_all_figures(&lm);
    // A sanity check of the model's embedding space (SmolLM2): the nearest token to
    // " alligator" is " crocodile".
    let near = embedding::nearest_tokens(&lm, "alligator", 3).unwrap();
    assert_eq!(near[0].0.trim(), "crocodile", "{near:?}");
}

#[test]
fn king_minus_man_plus_woman_lands_near_queen_on_smollm2() {
    let lm = smollm2();
    let found = embedding::analogy(&lm, "man", "woman", "king", 5).unwrap();
    assert!(
        found.iter().any(|(t, _)| t.trim() == "queen"),
        "king - man + woman: {found:?}"
    );
    // The figure's fair metric leaves each pair's own offset out; recomputed here from
    // the word vectors for the first relation.
    let fig = figures::make("analogies", Value::Null, Some(&lm)).unwrap();
    let d = data("analogies");
    let (_, first) = d["relations"].as_object().unwrap().iter().next().unwrap();
    let pairs: Vec<(String, String)> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
        .collect();
    let off: Vec<Vec<f64>> = pairs
        .iter()
        .map(|(a, b)| {
            let (va, vb) = (
                embedding::word_vector(&lm, a).unwrap(),
                embedding::word_vector(&lm, b).unwrap(),
            );
            vb.vector.iter().zip(&va.vector).map(|(x, y)| x - y).collect()
        })
        .collect();
    let got = column(&fig, "cosine_offset_to_mean_of_other_pairs");
    for i in 0..pairs.len() {
        let others: Vec<&Vec<f64>> = off
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| o)
            .collect();
        let mean: Vec<f64> = (0..off[i].len())
            .map(|e| others.iter().map(|o| o[e]).sum::<f64>() / others.len() as f64)
            .collect();
        let dot: f64 = off[i].iter().zip(&mean).map(|(a, b)| a * b).sum();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let want = dot / norm(&off[i]) / norm(&mean);
        let g: f64 = got[i].parse().unwrap();
        assert!((g - want).abs() < 1e-6, "pair {i}: {g} vs {want}");
    }
}
