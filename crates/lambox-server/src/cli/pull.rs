//! `lambox pull`: pulls runtime images (or any image) on the Docker engine, with a progress bar.

use std::time::Duration;

use anyhow::Context;

/// One line of a pull's progress bar: `image [#####-----]  50%  12.0/24.0 MB  Downloading`.
pub fn progress_line(image: &str, p: &lambox_backend_docker::PullProgress) -> String {
    const WIDTH: usize = 24;
    let mb = |b: u64| b as f64 / 1_000_000.0;
    if p.total_bytes == 0 {
        return format!("{image} [{}] {}", "-".repeat(WIDTH), p.status);
    }
    let fraction = (p.current_bytes as f64 / p.total_bytes as f64).clamp(0.0, 1.0);
    let filled = (fraction * WIDTH as f64).round() as usize;
    format!(
        "{image} [{}{}] {:>3.0}% {:.1}/{:.1} MB {}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        fraction * 100.0,
        mb(p.current_bytes),
        mb(p.total_bytes),
        p.status
    )
}

/// Pulls the images of `targets` (runtimes such as `python3.12`, or image references) on the
/// configured Docker engine, with a progress bar on standard error.
pub async fn pull(
    images: &lambox_backend_docker::ImageMap,
    targets: &[String],
) -> anyhow::Result<()> {
    use std::io::Write;

    let docker = lambox_backend_docker::connect_engine().await?;
    for target in targets {
        let is_runtime = lambox_core::runtime::SUPPORTED_RUNTIMES.contains(&target.as_str())
            || lambox_core::runtime::DEPRECATED_RUNTIMES.contains(&target.as_str());
        let image = if is_runtime {
            images
                .image_for_runtime(target)
                .with_context(|| format!("no image for runtime {target}"))?
        } else {
            target.clone()
        };
        let mut last = std::time::Instant::now();
        let mut stderr = std::io::stderr();
        lambox_backend_docker::pull_image(&docker, &image, |p| {
            if last.elapsed() >= Duration::from_millis(100) {
                last = std::time::Instant::now();
                let _ = write!(stderr, "\r\x1b[2K{}", progress_line(&image, p));
                let _ = stderr.flush();
            }
        })
        .await?;
        eprintln!("\r\x1b[2K{image}: pulled");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lambox_backend_docker::PullProgress;

    use super::progress_line;

    #[test]
    fn progress_bars() {
        let half = PullProgress {
            current_bytes: 12_000_000,
            total_bytes: 24_000_000,
            status: "Downloading".into(),
        };
        assert_eq!(
            progress_line("img", &half),
            "img [############------------]  50% 12.0/24.0 MB Downloading"
        );
        let unknown = PullProgress {
            status: "Pulling fs layer".into(),
            ..Default::default()
        };
        assert!(progress_line("img", &unknown).ends_with("Pulling fs layer"));
    }
}
