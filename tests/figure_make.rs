//! `figures::make`, the in-memory build the notebooks use: parameters overridden by
//! name, unknown names and missing models refused with the fix.

use gpt2_explorer::figures;
use serde_json::json;

#[test]
fn makes_a_card_in_memory_as_svg_and_png() {
    let fig = figures::make("gpt3-quotes", serde_json::Value::Null, None).unwrap();
    assert!(fig.svg().unwrap().contains("<svg"));
    assert_eq!(&fig.png().unwrap()[1..4], b"PNG");
}

#[test]
fn refuses_unknown_ids_parameters_and_missing_models() {
    let e = figures::make("no-such-figure", json!({}), None).err().unwrap().to_string();
    assert!(e.contains("unknown figure id `no-such-figure`"), "{e}");
    let e = figures::make("next-word-top5", json!({"promt": "x"}), None).err().unwrap().to_string();
    assert!(e.contains("has no parameter `promt`") && e.contains("prompt"), "{e}");
    let e = figures::make("next-word-top5", json!({"prompt": "x"}), None).err().unwrap().to_string();
    assert!(e.contains("needs a model"), "{e}");
    let e = figures::make("next-word-top5", json!([1]), None).err().unwrap().to_string();
    assert!(e.contains("must be a JSON object"), "{e}");
}
