use super::*;
use crate::speech::batching::{argmax_with_prob, gather_rows, plan_groups};
use ort::value::Tensor;

#[test]
fn argmax_probability_is_softmax() {
    let (i, p) = argmax_with_prob(&[0.0, 2.0, 0.0]);
    assert_eq!(i, 1);
    let expected = 2f32.exp() / (2.0 + 2f32.exp());
    assert!((p - expected).abs() < 1e-6);
}

fn encoded(frames: usize) -> Encoded {
    Encoded {
        states: Vec::new(),
        frames,
        max_tokens: 1,
        seconds: 0.0,
        audio: None,
    }
}

#[test]
fn gathered_rows_keep_their_values_and_drop_trimmed_columns() {
    if crate::onnx::init().is_err() {
        eprintln!("ONNX Runtime not set up; skipped");
        return;
    }
    // [3 rows, 2, 4]: value = row * 100 + i * 10 + j.
    let data: Vec<f32> = (0..3)
        .flat_map(|r| (0..2).flat_map(move |i| (0..4).map(move |j| (r * 100 + i * 10 + j) as f32)))
        .collect();
    let value = Tensor::from_array(([3usize, 2, 4], data))
        .expect("tensor")
        .into_dyn();
    let out = gather_rows(&value, &[2, 0], Some((2, 3))).expect("gather");
    let (shape, got) = out.try_extract_tensor::<f32>().expect("extract");
    assert_eq!(&shape[..], &[2, 2, 3]);
    assert_eq!(
        got,
        &[200., 201., 202., 210., 211., 212., 0., 1., 2., 10., 11., 12.]
    );
    let all = gather_rows(&value, &[1], None).expect("gather");
    let (shape, got) = all.try_extract_tensor::<f32>().expect("extract");
    assert_eq!(&shape[..], &[1, 2, 4]);
    assert_eq!(got[0], 100.0);
    assert!(gather_rows(&value, &[3], None).is_err());
    assert!(gather_rows(&value, &[0], Some((2, 5))).is_err());
}

#[test]
fn groups_follow_length_and_limits() {
    let items: Vec<Encoded> = [50, 10, 400, 30, 20, 420]
        .into_iter()
        .map(encoded)
        .collect();
    let groups = plan_groups(
        &items,
        BatchLimits {
            max_segments: 3,
            max_frames: 1000,
        },
    );
    // Ascending lengths; 3 rows at most; rows × longest ≤ 1000.
    assert_eq!(groups, vec![vec![1, 4, 3], vec![0, 2], vec![5]]);
    let one = plan_groups(
        &items,
        BatchLimits {
            max_segments: 1,
            max_frames: 1,
        },
    );
    assert_eq!(one.len(), items.len());
    assert!(plan_groups(&[], BatchLimits::default()).is_empty());
}
