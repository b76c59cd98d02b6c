//! The interactive views (`attention-view`, `generation-stepper`, `logit-lens-view`,
//! `embedding-view`) in a real browser, on both model families (SmolLM2 and a
//! GPT-2-shaped checkpoint with the real GPT-2 tokenizer): the pages are built here, the
//! numbers they should show are computed here in Rust, and
//! `scripts/browser/check_views.py` (Playwright, pinned in `scripts/lab/requirements.txt`,
//! installed by `make setup-lab` into `.venv/lab`) drives headless Chromium over them:
//! no console error, no network request, hovering a token shows exactly its row of the
//! attention pattern, clicking a step and moving the temperature slider shows the
//! probabilities Rust computes from the full logits, hovering a lens cell shows its top
//! guess, searching and hovering the map work. Also: each page under 2 MB, and bad input
//! ends in one clear error.

mod common;
use common::{smollm2, tokenizer_dir};

use std::path::{Path, PathBuf};
use std::process::Command;

use gpt2_explorer::analysis::{attention, embedding, lens};
use gpt2_explorer::figures::{self, Figure, Plot};
use gpt2_explorer::synthetic::{self, Layout};
use gpt2_explorer::Gpt2Config;
use gpt2_explorer::{sampling, tokenizer, views, LoadedModel};
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A GPT-2-shaped synthetic checkpoint (3 blocks of 4 heads, C = 64) with the genuine
/// GPT-2 tokenizer.
fn gpt2_shaped() -> (tempfile::TempDir, LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Gpt2Config::preset(50257, 256, 64, 3, 4);
    synthetic::write_model_folder(dir.path(), &cfg, 7, Layout::Hub, &tokenizer_dir())
        .expect("a synthetic GPT-2 (the GPT-2 tokenizer comes from `make setup`)");
    let lm = LoadedModel::load(dir.path().to_str().unwrap(), true).unwrap();
    (dir, lm)
}

fn page_of(fig: &Figure) -> &views::Page {
    match &fig.plot {
        Plot::Page(p) => p,
        _ => panic!("an interactive figure must be a page"),
    }
}

/// Writes the figure's page to `dir/<name>.html` and checks its size.
fn write(dir: &Path, name: &str, fig: &Figure) -> PathBuf {
    let html = page_of(fig).document();
    assert!(
        html.len() < 2_000_000,
        "{name}: the page is {} bytes, over 2 MB",
        html.len()
    );
    let path = dir.join(format!("{name}.html"));
    std::fs::write(&path, html).unwrap();
    path
}

/// softmax(l / t) over the whole vocabulary, in f64, by hand.
fn softmax_at(l: &[f64], t: f64) -> Vec<f64> {
    let max = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = l.iter().map(|x| ((x - max) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// The pages of one model and what the browser must find on them.
fn pages_for(lm: &LoadedModel, family: &str, dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let n_layer = lm.model.info().n_layer;
    let n_head = lm.model.info().n_head;

    // Attention: the last block, head 1; hover the last token.
    let prompt = "When Mary and John went to the store, John gave a drink to";
    let (block, head) = (n_layer - 1, 1);
    let fig = figures::make(
        "attention-view",
        json!({"prompt": prompt, "block": block, "head": head}),
        Some(lm),
    )
    .unwrap();
    let ids = lm.encode_prompt(prompt).unwrap();
    let pat = &attention::patterns(&lm.model, &ids, &[block]).unwrap()[0][head];
    let q = ids.len() - 1;
    out.push(json!({
        "name": format!("{family}/attention-view"), "kind": "attention",
        "path": write(dir, &format!("{family}-attention-view"), &fig),
        "block": block, "head": head, "query": q,
        "row": (0..=q).map(|j| pat.at(q, j)).collect::<Vec<f64>>(),
        "click": {"block": 0, "head": n_head - 1},
    }));

    // Generation stepper: 3 seeds, 8 steps; the slider at 0.5, 1.0 and 1.5.
    let sp = "The best thing about AI is its ability to";
    let seeds = [1u64, 2, 3];
    let (k, steps) = (10usize, 8usize);
    let fig = figures::make(
        "generation-stepper",
        json!({"prompt": sp, "seeds": seeds, "max_new_tokens": steps, "top_k": k, "temperature": 0.8}),
        Some(lm),
    )
    .unwrap();
    let prompt_ids = lm.encode_prompt(sp).unwrap();
    let mut checks = Vec::new();
    for (r, &seed) in seeds.iter().enumerate() {
        let rule = sampling::Sampling::new(0.8, seed).unwrap();
        let new = sampling::generate(&lm.model, &prompt_ids, steps, rule, |_| {}).unwrap();
        let step = [0, 3, steps - 1][r];
        let mut all = prompt_ids.clone();
        all.extend_from_slice(&new[..step]);
        let l: Vec<f64> =
            Vec::<f64>::try_from(&lm.model.logits(&all).unwrap().get(-1).to_kind(tch::Kind::Double)).unwrap();
        let mut order: Vec<usize> = (0..l.len()).collect();
        order.sort_by(|&a, &b| l[b].total_cmp(&l[a]));
        for (slider, t) in [(9usize, 0.5), (19, 1.0), (29, 1.5)] {
            let p = softmax_at(&l, t);
            checks.push(json!({
                "run": r, "step": step, "slider": slider, "temperature": t,
                "chosen": lm.tokenizer.token_label(new[step]),
                "rows": order[..k].iter().map(|&i| json!({"token": lm.tokenizer.token_label(i as u32), "p": p[i]})).collect::<Vec<_>>(),
            }));
        }
    }
    out.push(json!({
        "name": format!("{family}/generation-stepper"), "kind": "stepper",
        "path": write(dir, &format!("{family}-generation-stepper"), &fig),
        "checks": checks,
    }));

    // Logit lens: the top guess of three cells against analysis::lens::logit_lens.
    let lp = "The Eiffel Tower is in the city of Paris. The Colosseum is in the city of";
    let fig = figures::make("logit-lens-view", json!({"prompt": lp}), Some(lm)).unwrap();
    let ids = lm.encode_prompt(lp).unwrap();
    let ll = lens::logit_lens(&lm.model, &lm.tokenizer, &ids).unwrap();
    let last = ll.rows.len() - 1;
    let t = ids.len();
    let checks: Vec<Value> = [(last, t - 1), (0, 2), (last / 2, t / 2)]
        .iter()
        .map(|&(r, i)| {
            let c = &ll.cells[r][i];
            json!({"row": r, "pos": i, "token": tokenizer::readable(&c.token), "p": c.prob,
                   "rank": if r == last { Some(1) } else { None }})
        })
        .collect();
    out.push(json!({
        "name": format!("{family}/logit-lens-view"), "kind": "lens",
        "path": write(dir, &format!("{family}-logit-lens-view"), &fig),
        "checks": checks,
    }));

    // Embedding map: search "an" and count; hover " elephant" for its nearest word.
    let groups = json!({"animals": ["cat", "dog", "elephant", "lion", "tiger", "mouse", "snake"],
                        "plants": ["tree", "grass", "banana", "carrot", "onion", "rose"]});
    let fig = figures::make("embedding-view", json!({"groups": groups}), Some(lm)).unwrap();
    let words: Vec<String> = groups
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()))
        .collect();
    let vecs = embedding::word_vectors(lm, &words).unwrap();
    let e = words.iter().position(|w| w == "elephant").unwrap();
    let nearest = (0..words.len())
        .filter(|&j| j != e)
        .max_by(|&a, &b| {
            embedding::cosine(&vecs[e].vector, &vecs[a].vector)
                .total_cmp(&embedding::cosine(&vecs[e].vector, &vecs[b].vector))
        })
        .unwrap();
    out.push(json!({
        "name": format!("{family}/embedding-view"), "kind": "embedding",
        "path": write(dir, &format!("{family}-embedding-view"), &fig),
        "search": "an", "matches": words.iter().filter(|w| w.contains("an")).count(),
        "hover": "elephant", "nearest": words[nearest],
    }));
    out
}

/// Runs the browser checks of `pages` (the Python driver), failing with its report.
fn run_browser(dir: &Path, pages: Vec<Value>) {
    let lab = root().join(".venv/lab");
    assert!(
        lab.join("playwright").is_dir(),
        "Playwright is missing from {}: run `make setup-lab` (or `make test`, which runs it)",
        lab.display()
    );
    let expect = dir.join("expect.json");
    std::fs::write(&expect, serde_json::to_vec_pretty(&json!({ "pages": pages })).unwrap()).unwrap();
    let o = Command::new("python3")
        .arg(root().join("scripts/browser/check_views.py"))
        .arg(&expect)
        .env("PYTHONPATH", &lab)
        .output()
        .expect("python3 runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    println!("{report}");
    assert!(o.status.success(), "the browser checks failed:\n{report}");
    assert!(report.contains(" passed, 0 failed"), "no summary line:\n{report}");
}

#[test]
fn the_views_work_in_headless_chromium_on_both_families() {
    let dir = tempfile::tempdir().unwrap();
    let smol = smollm2();
    let (_g, gpt2) = gpt2_shaped();
    let mut pages = pages_for(&smol, "smollm2", dir.path());
    pages.extend(pages_for(&gpt2, "gpt2", dir.path()));
    run_browser(dir.path(), pages);
}

#[test]
fn the_largest_attention_page_stays_under_2_mb() {
    // SmolLM2 (30 blocks x 9 heads) at the token limit.
    let lm = smollm2();
    let mut prompt = String::from("word");
    while lm.encode_prompt(&prompt).unwrap().len() < views::MAX_ATTENTION_TOKENS {
        prompt.push_str(" word");
    }
    let fig = figures::make("attention-view", json!({ "prompt": prompt }), Some(&lm)).unwrap();
    let n = page_of(&fig).document().len();
    println!(
        "attention-view, SmolLM2, {} tokens: {n} bytes",
        views::MAX_ATTENTION_TOKENS
    );
    assert!(n < 2_000_000, "{n} bytes");
}

#[test]
fn bad_input_ends_in_one_clear_error() {
    let lm = smollm2();
    let err = |id: &str, v: Value| -> String {
        match figures::make(id, v, Some(&lm)) {
            Ok(_) => panic!("{id}: expected an error"),
            Err(e) => e.to_string(),
        }
    };
    let long = "word ".repeat(100);
    for id in ["attention-view", "generation-stepper", "logit-lens-view"] {
        let e = err(id, json!({"prompt": ""}));
        assert!(e.contains("the prompt is empty"), "{id}: {e}");
    }
    let e = err("attention-view", json!({ "prompt": long }));
    assert!(
        e.contains("attention view shows at most 48 tokens") && e.contains("shorten the prompt"),
        "{e}"
    );
    let e = err("logit-lens-view", json!({ "prompt": long }));
    assert!(e.contains("at most 40 tokens"), "{e}");
    let e = err("attention-view", json!({"prompt": "hi there", "block": 30}));
    assert!(
        e.contains("block 30 does not exist: the model has 30 blocks (0..30)"),
        "{e}"
    );
    let e = err("attention-view", json!({"prompt": "hi there", "head": 9}));
    assert!(
        e.contains("head 9 does not exist: the model has 9 heads per block (0..9)"),
        "{e}"
    );
    let e = err("generation-stepper", json!({"seeds": []}));
    assert!(e.contains("`seeds` has 0 seeds"), "{e}");
    let e = err("generation-stepper", json!({"max_new_tokens": 500}));
    assert!(e.contains("the stepper shows 1 to 64 steps"), "{e}");
    let e = err("generation-stepper", json!({"temperature": -1.0}));
    assert!(e.contains("temperature must be a finite number >= 0"), "{e}");
    let e = err("embedding-view", json!({"groups": {"a": ["cat"]}}));
    assert!(e.contains("the map needs at least 3"), "{e}");
    let e = err("attention-view", json!({"promt": "typo"}));
    assert!(e.contains("has no parameter `promt`"), "{e}");
    // Every message is one line.
    assert!(!err("attention-view", json!({ "prompt": long })).contains('\n'));
}

#[test]
fn a_page_shows_inline_as_html_and_its_data_cannot_break_out() {
    let (_g, lm) = gpt2_shaped();
    let fig = figures::make(
        "attention-view",
        json!({"prompt": "</script><script>alert(1)</script>"}),
        Some(&lm),
    )
    .unwrap();
    let frag = page_of(&fig).fragment();
    assert_eq!(
        frag.matches("</script>").count(),
        2,
        "the data closed its script element"
    );
    assert!(frag.starts_with("<div class=\"gx-view gx-attention\">"));
    assert!(
        !frag.contains("<link") && !frag.contains(" src="),
        "a page must load nothing"
    );
    assert!(fig.svg().is_err(), "a page has no static picture");
}
