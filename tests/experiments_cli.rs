//! The experiment commands end to end: `next-token` / `generate` with `--ablate`,
//! `attribute`, `patch` and `heads` give the documented JSON (checked against the
//! library on the same model, and by their own invariants), and every bad input ends in
//! one `error:` line naming the problem, without a panic.

mod common;

use common::{assert_one_line_error, json_ok, Sandbox};
use gpt2_explorer::analysis::attribution::logit_attribution;
use gpt2_explorer::intervene::{self, Ablation};
use gpt2_explorer::LoadedModel;
use serde_json::Value;

const PROMPT: &str = "The best thing about AI is its ability to";

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn attribute_patch_heads_and_ablate_give_the_documented_json() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("small");
    let model = dir.to_str().unwrap();
    let lm = LoadedModel::load(model, true).unwrap();
    let ids = lm.encode_prompt(PROMPT).unwrap();

    // attribute: components and heads as the library computes them, summing to the logit.
    let v = json_ok(&sb.run(&["attribute", "--model", model, "--json", PROMPT]));
    for key in [
        "model",
        "prompt_ids",
        "position",
        "target_id",
        "target",
        "logit",
        "components",
        "heads",
    ] {
        assert!(v.get(key).is_some(), "attribute JSON lacks {key}: {v}");
    }
    assert_eq!(v["position"].as_u64().unwrap() as usize, ids.len() - 1);
    let target = v["target_id"].as_u64().unwrap() as u32;
    let top = lm.model.logits(&ids).unwrap().get(-1).argmax(0, false).int64_value(&[]) as u32;
    assert_eq!(target, top, "the default target is the most likely next token");
    let want = logit_attribution(&lm.model, &ids, ids.len() - 1, target).unwrap();
    let mut expected = vec!["embed".to_string(), "pos_embed".to_string()];
    for l in 0..2 {
        expected.push(format!("{l}_attn_out"));
        expected.push(format!("{l}_mlp_out"));
    }
    expected.push("bias".into());
    assert_eq!(names(&v["components"]), expected);
    assert_eq!(
        names(&v["heads"]),
        (0..2)
            .flat_map(|l| (0..4).map(move |h| format!("L{l}H{h}")))
            .collect::<Vec<_>>()
    );
    let sum: f64 = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"].as_f64().unwrap())
        .sum();
    let logit = v["logit"].as_f64().unwrap();
    assert!(
        (sum - logit).abs() < 1e-4 * logit.abs().max(1.0),
        "components sum to {sum}, logit {logit}"
    );
    assert!(
        v["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "bias" && t["value"].as_f64().unwrap() != 0.0),
        "this checkpoint's ln_f has a bias"
    );
    assert!((want.logit - logit).abs() < 1e-9);
    let v2 = json_ok(&sb.run(&[
        "attribute",
        "--model",
        model,
        "--json",
        "--target-id",
        "11",
        "--position",
        "2",
        PROMPT,
    ]));
    assert_eq!((v2["target_id"].as_u64(), v2["position"].as_u64()), (Some(11), Some(2)));
    let csv = common::stdout(&sb.run(&["attribute", "--model", model, "--csv", PROMPT]));
    assert!(
        csv.starts_with("kind,name,value\ncomponent,embed,") && csv.contains("\nhead,L1H3,"),
        "{csv}"
    );

    // patch: clean into a prompt that differs at one position restores 1 there in block 0.
    let (clean, corrupt) = (
        "When Mary and John went to the store, John gave a drink to",
        "When Mary and John went to the store, Mary gave a drink to",
    );
    let v = json_ok(&sb.run(&[
        "patch",
        "--model",
        model,
        "--clean",
        clean,
        "--corrupt",
        corrupt,
        "--answer",
        " Mary",
        "--wrong",
        " John",
        "--json",
    ]));
    let restored = v["restored"].as_array().unwrap();
    assert_eq!(restored.len(), 2);
    let changed = lm
        .encode_prompt(clean)
        .unwrap()
        .iter()
        .zip(lm.encode_prompt(corrupt).unwrap())
        .position(|(a, b)| *a != b)
        .unwrap();
    for (t, x) in restored[0].as_array().unwrap().iter().enumerate() {
        let want = if t == changed { 1.0 } else { 0.0 };
        assert!((x.as_f64().unwrap() - want).abs() < 1e-5, "block 0 position {t}: {x}");
    }
    assert_eq!(v["hook"], "resid_pre");
    let v = json_ok(&sb.run(&[
        "patch",
        "--model",
        model,
        "--clean",
        clean,
        "--corrupt",
        corrupt,
        "--answer",
        " Mary",
        "--wrong",
        " John",
        "--hook",
        "mlp_out",
        "--json",
    ]));
    assert_eq!(v["hook"], "mlp_out");

    // heads: three (L, H) matrices of scores in [0, 1] on 2n tokens.
    let v = json_ok(&sb.run(&["heads", "--model", model, "--tokens", "20", "--json"]));
    assert_eq!(v["tokens"].as_array().unwrap().len(), 40);
    for kind in ["previous_token", "duplicate_token", "induction"] {
        let m = v[kind].as_array().unwrap();
        assert_eq!((m.len(), m[0].as_array().unwrap().len()), (2, 4), "{kind}");
        assert!(
            m.iter()
                .flat_map(|r| r.as_array().unwrap())
                .all(|x| (0.0..=1.0 + 1e-9).contains(&x.as_f64().unwrap())),
            "{kind}"
        );
    }

    // --ablate: the same top-5 as the library's ablation, and generation under it.
    let v = json_ok(&sb.run(&["next-token", "--model", model, "--ablate", "0.1,1.2", "--json", PROMPT]));
    assert_eq!(v["ablated"]["heads"], serde_json::json!(["L0H1", "L1H2"]));
    let mut ablate = Ablation::zero(&lm.model, &intervene::parse_heads("0.1,1.2").unwrap()).unwrap();
    let logits = lm.model.run_with_cache(&ids, &mut ablate).unwrap().get(-1);
    let want = gpt2_explorer::sampling::top_k(&logits, 5, &lm.tokenizer).unwrap();
    let got: Vec<u64> = v["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want.iter().map(|t| t.id as u64).collect::<Vec<_>>());
    let plain = json_ok(&sb.run(&["next-token", "--model", model, "--json", PROMPT]));
    assert_ne!(
        plain["top"][0]["prob"], v["top"][0]["prob"],
        "ablating two heads changed nothing"
    );
    let g = json_ok(&sb.run(&[
        "generate",
        "--model",
        model,
        "--ablate",
        "1.0",
        "--ablate-mode",
        "mean",
        "--max-new-tokens",
        "5",
        "--json",
        PROMPT,
    ]));
    assert_eq!(g["generated_ids"].as_array().unwrap().len(), 5);
    assert_eq!(g["ablated"]["mode"], "mean");
}

#[test]
fn bad_experiment_input_is_one_clear_error() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("small");
    let model = dir.to_str().unwrap();
    let fails = |args: &[&str], needles: &[&str]| {
        let before = sb.snapshot();
        let out = sb.run(args);
        assert_one_line_error(&out, needles);
        assert_eq!(before, sb.snapshot(), "`{}` changed files", args.join(" "));
    };
    fails(
        &["next-token", "--model", model, "--ablate", "2.0", PROMPT],
        &["block 2", "0..2"],
    );
    fails(
        &["next-token", "--model", model, "--ablate", "0.4", PROMPT],
        &["head 4", "0..4"],
    );
    fails(
        &["next-token", "--model", model, "--ablate", "0;1", PROMPT],
        &["--ablate", "block.head"],
    );
    fails(
        &["generate", "--model", model, "--ablate", "0.1,", PROMPT],
        &["--ablate", "block.head"],
    );
    fails(
        &[
            "next-token",
            "--model",
            model,
            "--ablate",
            "0.1",
            "--ablate-mode",
            "median",
            PROMPT,
        ],
        &["median", "zero or mean"],
    );
    fails(
        &["attribute", "--model", model, "--target", " Wolframesque", PROMPT],
        &["--target", "tokens", "|"],
    );
    fails(
        &["attribute", "--model", model, "--position", "50", PROMPT],
        &["position 50", "tokens"],
    );
    fails(
        &["attribute", "--model", model, "--target-id", "99999999", PROMPT],
        &["vocab"],
    );
    fails(&["attribute", "--model", model, ""], &["empty"]);
    let clean = "When Mary and John went to the store, John gave a drink to";
    fails(
        &[
            "patch",
            "--model",
            model,
            "--clean",
            clean,
            "--corrupt",
            "When Mary went to the store, John gave a drink to",
            "--answer",
            " Mary",
            "--wrong",
            " John",
        ],
        &["tokens", "same token count"],
    );
    fails(
        &[
            "patch",
            "--model",
            model,
            "--clean",
            clean,
            "--corrupt",
            clean,
            "--answer",
            " Maryland Wolframesque",
            "--wrong",
            " John",
        ],
        &["--answer", "tokens"],
    );
    fails(
        &[
            "patch",
            "--model",
            model,
            "--clean",
            clean,
            "--corrupt",
            clean,
            "--answer",
            " Mary",
            "--wrong",
            " John",
            "--hook",
            "resid_post",
        ],
        &["--hook", "resid_pre"],
    );
    fails(&["heads", "--model", model, "--tokens", "1000"], &["--tokens"]);
}

/// The four figures beyond the essay build on a GPT-2 checkpoint, and their tables say
/// what the library says.
#[test]
fn the_experiment_figures_build_and_their_tables_match_the_library() {
    use gpt2_explorer::figures;
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("small");
    let lm = LoadedModel::load(dir.to_str().unwrap(), true).unwrap();
    let col = |t: &figures::Table, name: &str| t.headers.iter().position(|h| h == name).unwrap();

    let fig = figures::make("logit-attribution", serde_json::json!({}), Some(&lm)).unwrap();
    let (k, v) = (col(&fig.table, "kind"), col(&fig.table, "value"));
    let logit: f64 = fig.table.rows.iter().find(|r| r[k] == "logit").unwrap()[v]
        .parse()
        .unwrap();
    let sum: f64 = fig
        .table
        .rows
        .iter()
        .filter(|r| r[k] == "component")
        .map(|r| r[v].parse::<f64>().unwrap())
        .sum();
    assert!(
        (sum - logit).abs() < 1e-4 * logit.abs().max(1.0),
        "components {sum} vs logit {logit}"
    );

    let fig = figures::make("activation-patching", serde_json::json!({}), Some(&lm)).unwrap();
    let (h, b, p, r) = (
        col(&fig.table, "hook"),
        col(&fig.table, "block"),
        col(&fig.table, "position"),
        col(&fig.table, "restored"),
    );
    let clean = lm
        .encode_prompt("When Mary and John went to the store, John gave a drink to")
        .unwrap();
    let corrupt = lm
        .encode_prompt("When Mary and John went to the store, Mary gave a drink to")
        .unwrap();
    let changed = clean.iter().zip(&corrupt).position(|(a, b)| a != b).unwrap();
    for row in fig.table.rows.iter().filter(|x| x[h] == "resid_pre" && x[b] == "0") {
        let want = if row[p] == changed.to_string() { 1.0 } else { 0.0 };
        assert!((row[r].parse::<f64>().unwrap() - want).abs() < 1e-5, "{row:?}");
    }

    let fig = figures::make("head-ablation", serde_json::json!({"top": 3}), Some(&lm)).unwrap();
    assert_eq!(fig.table.rows.iter().filter(|x| x[0] == "logprob_drop").count(), 2 * 4);
    assert_eq!(fig.table.rows.iter().filter(|x| x[0] == "prob_after").count(), 3);

    let fig = figures::make("induction-heads", serde_json::json!({"tokens": 20}), Some(&lm)).unwrap();
    let own = fig.table.rows.iter().filter(|x| x[0] == lm.name).count();
    assert_eq!(own, 3 * 2 * 4, "three scores for each of the 8 heads");

    let e = figures::make(
        "activation-patching",
        serde_json::json!({"answer": " Wolframesque"}),
        Some(&lm),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("Wolframesque") && e.contains("tokens"), "{e}");
    let e = figures::make("induction-heads", serde_json::json!({"tokns": 3}), Some(&lm))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("tokns"), "{e}");
}
