//! The library behind notebooks 09 and 10: chat formatting (`chat`), the continuation
//! scorer and probe sets (`probes`), the in-context learning evaluator (`icl`) and their
//! figures (`figures::behaviour`). References: transformers' `apply_chat_template` run
//! on the template in SmolLM2's GGUF and transformers' log-probabilities
//! (`tests/fixtures/course/reference.json`, written by
//! `scripts/parity/make_course_fixtures.py`); a softmax computed here from the raw
//! logits; a hand-made model whose in-context accuracy is worked out by hand below.

mod common;

use std::path::PathBuf;

use gpt2_explorer::chat::{self, ChatFormat, ChatTemplate, Message};
use gpt2_explorer::icl::{self, Task};
use gpt2_explorer::model::KvCache;
use gpt2_explorer::probes::{self, ProbeSet};
use gpt2_explorer::{figures, gguf, Capture, CausalLm, LoadedModel, Tokenizer};
use serde_json::{json, Value};
use tch::Tensor;

fn reference() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/course/reference.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn smollm2_path() -> PathBuf {
    let p = gpt2_explorer::data_cache_dir().join(gpt2_explorer::source::SMOLLM2_GGUF);
    assert!(p.is_file(), "{} is missing: run `make setup`", p.display());
    p
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn gpt2_tokenizer() -> Tokenizer {
    let dir = common::tokenizer_dir();
    Tokenizer::from_vocab_merges(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap()
}

/// The template in the GGUF is the one the fixture rendered, and our ChatML writer gives
/// exactly transformers' text and token ids for every conversation.
#[test]
fn chat_formatting_matches_transformers_on_the_gguf_template() {
    let r = reference();
    let g = gguf::GgufFile::open(smollm2_path()).unwrap();
    let source = g.get_str("tokenizer.chat_template").unwrap();
    assert_eq!(
        source,
        r["chat_template"].as_str().unwrap(),
        "the GGUF's template changed"
    );
    let t = ChatTemplate::parse(source, "smollm2").unwrap();
    assert_eq!(
        t.format,
        ChatFormat::ChatMl {
            default_system: Some("You are a helpful AI assistant named SmolLM, trained by Hugging Face".into())
        }
    );
    let tok = Tokenizer::from_inner(gguf::tokenizer_from_gguf(&g).unwrap());
    let chats = r["chats"].as_array().unwrap();
    assert!(chats.len() >= 4);
    for c in chats {
        let messages: Vec<Message> = c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
            .collect();
        let text = t.format(&messages, c["add_generation_prompt"].as_bool().unwrap());
        assert_eq!(text, c["text"].as_str().unwrap(), "{}", c["label"]);
        assert_eq!(
            tok.encode(&text).unwrap(),
            ids(&c["ids"]),
            "token ids of {}",
            c["label"]
        );
    }
}

/// The loaded model finds its own template; a base GPT-2 has none, and says so.
#[test]
fn templates_come_from_the_model() {
    let lm = LoadedModel::load("smollm2", true).unwrap();
    let t = ChatTemplate::of_model(&lm).unwrap();
    assert!(t.origin.contains("tokenizer.chat_template"), "{}", t.origin);
    let sandbox = common::Sandbox::new();
    let gpt2 = LoadedModel::load(sandbox.synthetic_small("gpt2").to_str().unwrap(), true).unwrap();
    let e = ChatTemplate::of_model(&gpt2).unwrap_err().to_string();
    assert!(
        e.contains("no chat template") && e.contains("tokenizer_config.json"),
        "{e}"
    );
    assert!(chat::reply(&gpt2, &[Message::user("Hi")], 3).is_err());
}

/// With its template SmolLM2-Instruct answers and ends its turn; the plain prompt is
/// continued as text and runs to the token limit.
#[test]
fn the_instruct_model_answers_in_its_template() {
    let lm = LoadedModel::load("smollm2", true).unwrap();
    let c = chat::reply(&lm, &[Message::user("What is the capital of France?")], 40).unwrap();
    assert!(c.ended, "the reply did not end its turn: {:?}", c.text);
    assert!(c.text.contains("Paris"), "{:?}", c.text);
    assert!(!c.text.contains("<|im_end|>"));
    assert!(c.prompt.ends_with("<|im_start|>assistant\n"));
    let plain = chat::complete(&lm, "What is the capital of France?", 12, None).unwrap();
    assert!(!plain.ended);
    assert_eq!(
        plain.prompt_tokens,
        lm.encode_prompt("What is the capital of France?").unwrap().len()
    );
}

/// Log-probabilities of one- and several-token continuations against transformers.
#[test]
fn scorer_matches_transformers() {
    let r = reference();
    let lm = LoadedModel::load("smollm2", true).unwrap();
    let mut worst: f64 = 0.0;
    for case in r["scores"].as_array().unwrap() {
        let prompt = case["prompt"].as_str().unwrap();
        let p_ids = lm.encode_prompt(prompt).unwrap();
        assert_eq!(p_ids, ids(&case["prompt_ids"]), "{prompt:?}");
        let alts: Vec<&str> = case["alternatives"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["text"].as_str().unwrap())
            .collect();
        let got = probes::score_alternatives(&lm.model, &lm.tokenizer, prompt, &alts).unwrap();
        for (s, want) in got.scored.iter().zip(case["alternatives"].as_array().unwrap()) {
            assert_eq!(s.ids, ids(&want["ids"]), "{prompt:?} {:?}", s.text);
            let w: Vec<f64> = want["token_logprobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            for (a, b) in s.token_logprobs.iter().zip(&w) {
                worst = worst.max((a - b).abs());
            }
            assert!(
                (s.logprob - w.iter().sum::<f64>()).abs() < 5e-3,
                "{prompt:?} {:?}",
                s.text
            );
        }
    }
    assert!(worst < 2e-3, "max |log p - transformers| = {worst}");
}

/// Scorer against a softmax written out here from the raw logits (f64, by loops), and
/// the shares of several alternatives.
#[test]
fn scorer_matches_a_softmax_by_hand() {
    let sandbox = common::Sandbox::new();
    let lm = LoadedModel::load(sandbox.synthetic_small("gpt2").to_str().unwrap(), true).unwrap();
    let prompt = lm.encode_prompt("The keys to the cabinet").unwrap();
    let cont = lm.tokenizer.encode(" are not here").unwrap();
    assert!(cont.len() >= 3);
    let mut all = prompt.clone();
    all.extend(&cont);
    let logits: Vec<Vec<f64>> =
        Vec::<Vec<f64>>::try_from(lm.model.logits(&all).unwrap().to_kind(tch::Kind::Double)).unwrap();
    let (lps, _) = probes::continuation_logprobs(&lm.model, &prompt, &cont).unwrap();
    for (j, &t) in cont.iter().enumerate() {
        let row = &logits[prompt.len() - 1 + j];
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = row.iter().map(|x| (x - max).exp()).sum();
        let want = row[t as usize] - max - z.ln();
        assert!((lps[j] - want).abs() < 1e-5, "token {j}: {} vs {want}", lps[j]);
    }
    let a = probes::score_alternatives(
        &lm.model,
        &lm.tokenizer,
        "The keys to the cabinet",
        &[" are", " is", " were"],
    )
    .unwrap();
    let ps: Vec<f64> = a.scored.iter().map(|s| s.prob()).collect();
    let total: f64 = ps.iter().sum();
    for (sh, p) in a.share.iter().zip(&ps) {
        assert!((sh - p / total).abs() < 1e-9);
    }
    let best = (0..3).max_by(|&i, &j| ps[i].total_cmp(&ps[j])).unwrap();
    assert_eq!(a.best, best);
    assert!(probes::score_alternatives(&lm.model, &lm.tokenizer, "x", &[]).is_err());
    assert!(probes::score_alternatives(&lm.model, &lm.tokenizer, "x", &[""]).is_err());
}

/// A hand-made model: at every position it puts logit 10 on the token that followed the
/// latest earlier occurrence of the current token (a perfect induction head), and on
/// token 0 when there is none; 0 elsewhere.
struct Copycat;

const V: usize = 50257;

impl CausalLm for Copycat {
    fn forward(
        &self,
        ids: &Tensor,
        _kv: Option<&mut KvCache>,
        _cap: &mut dyn Capture,
    ) -> gpt2_explorer::Result<Tensor> {
        let v: Vec<i64> = Vec::<i64>::try_from(ids.get(0)).unwrap();
        let mut out = vec![0f32; v.len() * V];
        for t in 0..v.len() {
            let pred = (0..t).rev().find(|&s| v[s] == v[t]).map_or(0, |s| v[s + 1]);
            out[t * V + pred as usize] = 10.0;
        }
        Ok(Tensor::from_slice(&out).view([1, v.len() as i64, V as i64]))
    }
    fn n_ctx(&self) -> usize {
        1024
    }
}

/// The evaluator on the copycat, worked out by hand. Pairs a -> X, b -> Y, c -> X in
/// file order; the examples for pair i are the next k pairs, wrapping. At the query's
/// " ->" the copycat answers the output of the last example:
///   0 examples: no earlier " ->", it answers token 0: 0 of 3 right;
///   1 example : a asks after b (Y: wrong), b after c (X: wrong), c after a (X: right): 1/3;
///   2 examples: a after b, c (X: right), b after c, a (X: wrong), c after a, b (Y: wrong): 1/3.
/// p of the copied token is e^10 / (e^10 + V - 1); of any other, 1 / (e^10 + V - 1).
#[test]
fn icl_accuracy_on_a_hand_checked_case() {
    let tok = gpt2_tokenizer();
    let task = Task {
        name: "toy".into(),
        about: String::new(),
        query_format: "{input} ->".into(),
        answer_format: " {output}".into(),
        separator: "\n".into(),
        pairs: vec![
            ("a".into(), "X".into()),
            ("b".into(), "Y".into()),
            ("c".into(), "X".into()),
        ],
    };
    assert_eq!(task.prompt(0, &icl::examples(&[0, 1, 2], 0, 2)), "b -> Y\nc -> X\na ->");
    assert_eq!(task.prompt(2, &icl::examples(&[0, 1, 2], 2, 1)), "a -> X\nc ->");
    for t in [" ->", " X", " Y"] {
        tok.single_token(t, "test token").unwrap();
    }
    let curve = icl::evaluate_with(&Copycat, &tok, &task, &[0, 1, 2], None).unwrap();
    assert_eq!(curve.accuracy, vec![0.0, 1.0 / 3.0, 1.0 / 3.0]);
    let e10 = 10f64.exp();
    let (hit, miss) = (e10 / (e10 + (V - 1) as f64), 1.0 / (e10 + (V - 1) as f64));
    let want = [miss, (hit + 2.0 * miss) / 3.0, (hit + 2.0 * miss) / 3.0];
    for (got, want) in curve.mean_prob.iter().zip(want) {
        assert!((got - want).abs() < 1e-6 * want.max(1e-3), "{got} vs {want}");
    }
    let right: Vec<(usize, usize)> = curve
        .items
        .iter()
        .filter(|i| i.correct)
        .map(|i| (i.shots, i.pair))
        .collect();
    assert_eq!(right, vec![(1, 2), (2, 0)]);

    let e = icl::evaluate_with(&Copycat, &tok, &task, &[3], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 2"), "{e}");
    let o = icl::order(30, Some(7));
    assert_eq!(o, icl::order(30, Some(7)));
    let mut sorted = o.clone();
    sorted.sort();
    assert_eq!(sorted, (0..30).collect::<Vec<_>>());
    assert_ne!(o, icl::order(30, None));
}

/// The committed tasks and probe sets load; bad names and files are one clear line.
#[test]
fn data_files_load_and_bad_ones_are_named() {
    for t in ["capitals", "antonyms"] {
        assert_eq!(Task::load(t).unwrap().pairs.len(), 30);
    }
    for (s, n) in [("agreement", 26), ("nesting", 17), ("syllogisms", 16)] {
        assert_eq!(ProbeSet::load(s).unwrap().items.len(), n, "{s}");
    }
    let e = ProbeSet::load("agreemnt").unwrap_err().to_string();
    assert!(e.contains("agreement, nesting, syllogisms"), "{e}");
    let e = Task::load("nope").unwrap_err().to_string();
    assert!(e.contains("antonyms, capitals"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"about": "x", "items": [{"kind": "k", "prompt": "p", "right": " a", "wrong": " b"}]}"#,
    )
    .unwrap();
    let e = ProbeSet::load(bad.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("items[0].wrong") && !e.contains('\n'), "{e}");
    std::fs::write(&bad, r#"{"about": "x", "query_format": "{x}", "answer_format": " {output}", "separator": "\n", "pairs": [["a","b"],["c","d"]]}"#).unwrap();
    let e = Task::load(bad.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("{input}"), "{e}");
}

/// What notebook 10 claims: SmolLM2 follows agreement well above chance, and in-context
/// examples raise its capitals accuracy (notebook 09).
#[test]
fn smollm2_follows_agreement_and_learns_from_examples() {
    let lm = LoadedModel::load("smollm2", true).unwrap();
    let r = probes::run(&lm, &ProbeSet::load("agreement").unwrap()).unwrap();
    assert!(r.accuracy() >= 0.75, "agreement accuracy {}", r.accuracy());
    let c = icl::evaluate(&lm, &Task::load("capitals").unwrap(), &[0, 8], None).unwrap();
    assert!(c.accuracy[1] >= c.accuracy[0] + 0.3, "{:?}", c.accuracy);
}

/// The three figures build on a synthetic GPT-2 (which has no chat template: the panel
/// says so), with the numbers behind them in the CSV.
#[test]
fn figures_build_and_say_what_is_missing() {
    let sandbox = common::Sandbox::new();
    let lm = LoadedModel::load(sandbox.synthetic_small("gpt2").to_str().unwrap(), true).unwrap();
    let f = figures::make("chat-template", json!({"max_new_tokens": 3}), Some(&lm)).unwrap();
    assert_eq!(f.table.rows.len(), 2);
    assert!(f.table.rows[1][2].contains("no chat template"), "{:?}", f.table.rows[1]);
    f.png().unwrap();
    let f = figures::make(
        "icl-accuracy",
        json!({"tasks": ["antonyms"], "shots": [0, 2]}),
        Some(&lm),
    )
    .unwrap();
    assert_eq!(f.table.rows.len(), 60);
    f.png().unwrap();
    let f = figures::make(
        "syntax-probes",
        json!({"sets": ["nesting"], "detail": "nesting"}),
        Some(&lm),
    )
    .unwrap();
    assert_eq!(f.table.rows.len(), 17);
    f.png().unwrap();
    let e = figures::make("syntax-probes", json!({"sets": ["nesting"]}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("detail") && e.contains("nesting"), "{e}");
    let e = figures::make("icl-accuracy", json!({"shots": [30]}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("at most 29"), "{e}");
}
