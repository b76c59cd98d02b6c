//! Where the model runs: `cpu`, `cuda` (`cuda:N`) or `auto` (the binaries' `--device`). CPU is the default and what the
//! tests run; `cuda` needs a build with the `cuda` cargo feature, linked against a
//! CUDA libtorch (`make setup-cuda`, see BENCHMARKS.md). Serves every model-made figure
//! of the essay (same model, same numbers, only faster on a GPU).

use tch::Device;

use crate::error::{Error, Result};

/// Whether this build was linked against libtorch's CUDA library (`--features cuda`).
pub const CUDA_BUILD: bool = cfg!(feature = "cuda");

/// Resolves a device name: `cpu`; `cuda` (or `cuda:N`), an error naming the fix
/// when no GPU can be used; `auto`, the first GPU when one is usable, else the CPU.
pub fn resolve_device(arg: &str) -> Result<Device> {
    let arg = arg.trim().to_ascii_lowercase();
    match arg.as_str() {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if cuda_usable() { Device::Cuda(0) } else { Device::Cpu }),
        _ => {
            let index = match arg.strip_prefix("cuda") {
                Some("") => 0,
                Some(rest) => rest
                    .strip_prefix(':')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| bad_name(&arg))?,
                None => return Err(bad_name(&arg)),
            };
            if !CUDA_BUILD {
                return Err(Error::CudaNotBuilt { asked: arg });
            }
            if !tch::Cuda::is_available() {
                return Err(Error::NoCuda { asked: arg });
            }
            let count = tch::Cuda::device_count() as usize;
            if index >= count {
                return Err(Error::CudaIndex { asked: arg, count });
            }
            Ok(Device::Cuda(index))
        }
    }
}

fn bad_name(arg: &str) -> Error {
    Error::UnknownDevice { asked: arg.to_string() }
}

/// True when this build can run on a CUDA GPU and one is visible.
pub fn cuda_usable() -> bool {
    CUDA_BUILD && tch::Cuda::is_available()
}

/// A short name for reports: "cpu" or "cuda:0".
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
