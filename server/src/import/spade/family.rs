//! Generators of other families (SEAN, CC-FPSE, pix2pixHD) whose checkpoints
//! look like SPADE's: recognised and refused by name, with the evidence,
//! rather than failing on a missing tensor.

use super::arch::ArchError;
use super::opt::TrainOptions;
use super::weights::Weights;

/// Generators of other families that share SPADE's checkpoint layout or
/// options but not its network: refused by name, before any shape is read.
pub(super) fn unsupported_family(w: &Weights, opt: Option<&TrainOptions>) -> Result<(), ArchError> {
    let refuse = |family: &str, evidence: String| {
        Err(ArchError::Unsupported(format!(
            "this checkpoint holds a {family} generator ({evidence}); easel imports SPADE, CLADE, OASIS and \
             their variants only"
        )))
    };
    let any = |pattern: &str| w.names().find(|n| n.contains(pattern)).map(str::to_string);
    if let Some(key) = any(".blending_gamma").or_else(|| any(".fc_mu0.")) {
        return refuse(
            "SEAN (per-region style codes)",
            format!("its normalisation layers blend region styles: {key}"),
        );
    }
    match opt.and_then(|o| o.get("netG")) {
        Some("spade" | "oasis") | None => {}
        Some(net @ ("condconv" | "cc_fpse" | "ccfpse")) => {
            return refuse(
                "CC-FPSE (predicted convolution kernels)",
                format!("opt.txt says netG {net}"),
            )
        }
        Some(net @ ("global" | "local" | "pix2pixhd")) => {
            return refuse("pix2pixHD", format!("opt.txt says netG {net}"))
        }
        Some(net) => return refuse(&format!("`{net}`"), format!("opt.txt says netG {net}")),
    }
    if !w.has_prefix("head_0.") && !super::oasis::is_oasis(w) {
        let sample: Vec<&str> = w.names().take(3).collect();
        return match w.names().next() {
            Some(k) if k.starts_with("model.") => refuse(
                "pix2pixHD-style sequential",
                format!("its tensors are named model.N.…, such as {}", sample.join(", ")),
            ),
            _ => Err(ArchError::Weights(format!(
                "this is not a SPADE-family generator: it has no head_0 block (its first tensors are {})",
                sample.join(", ")
            ))),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(names: &[&str]) -> Weights {
        let tensors = names
            .iter()
            .map(|n| {
                let t = crate::import::checkpoint::Tensor {
                    shape: vec![1],
                    data: vec![0.0],
                };
                (n.to_string(), t)
            })
            .collect();
        Weights::new(tensors, "test weights")
    }

    #[test]
    fn other_families_are_refused_by_name() {
        let sean = weights(&["head_0.ace_0.blending_gamma", "head_0.conv_0.weight"]);
        let e = unsupported_family(&sean, None).unwrap_err().to_string();
        assert!(e.contains("SEAN") && e.contains("blending_gamma"), "{e}");
        let hd = weights(&["model.1.weight", "model.1.bias"]);
        let e = unsupported_family(&hd, None).unwrap_err().to_string();
        assert!(e.contains("pix2pixHD") && e.contains("model.1.bias"), "{e}");
        let other = weights(&["encoder.0.weight"]);
        let e = unsupported_family(&other, None).unwrap_err().to_string();
        assert!(
            e.contains("no head_0 block") && e.contains("encoder.0.weight"),
            "{e}"
        );
        let spade_like = weights(&["head_0.conv_0.weight"]);
        for (net, family) in [("condconv", "CC-FPSE"), ("global", "pix2pixHD")] {
            let opt = TrainOptions::parse(&format!("netG: {net}\n"), "opt.txt").unwrap();
            let e = unsupported_family(&spade_like, Some(&opt))
                .unwrap_err()
                .to_string();
            assert!(e.contains(family) && e.contains(net), "{e}");
        }
    }
}
