"""Makes the report screenshots of the docs: a real `leap train` (10 epochs) and a short
`leap distill` (teacher 10 epochs, students 20) on Fashion-MNIST on this machine's CPU, each
report.html rendered by headless Chromium at 1200 px, cropped to the page and saved with a
128-colour palette (the charts need no more) to docs/images/report-train.png and
report-distill.png.

usage: /usr/bin/python3 scripts/report_screenshots.py [--leap build/leap]
Needs Debian's chromium and python3-pil."""
import argparse
import os
import shutil
import subprocess
import tempfile

from PIL import Image

RUNS = {
    "train": ["train", "--device", "cpu", "--epochs", "10"],
    "distill": ["distill", "--device", "cpu", "--teacher-epochs", "10", "--epochs", "20"],
}
WIDTH = 1200


def screenshot(html, png, tmp):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={os.path.join(tmp, 'profile')}", f"--window-size={WIDTH},2400",
                    f"--screenshot={png}", "file://" + os.path.abspath(html)],
                   check=True, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def crop_and_save(png, target):
    image = Image.open(png).convert("RGB")
    pixels = image.load()
    # The last row with anything on it, plus a margin.
    bottom = next(y for y in range(image.height - 1, -1, -1)
                  if any(pixels[x, y] != (255, 255, 255) for x in range(0, image.width, 4)))
    page = image.crop((0, 0, image.width, min(image.height, bottom + 24)))
    page.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    print(f"wrote {target}: {page.width}x{page.height}, {os.path.getsize(target)} bytes")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", default="build/leap")
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    leap = os.path.abspath(args.leap)
    # OpenMP threads that sleep rather than spin when they wait: on a shared machine spinning
    # threads steal each other's cores and a step takes ten times as long.
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    with tempfile.TemporaryDirectory() as tmp:
        for name, command in RUNS.items():
            run_dir = os.path.join(tmp, name)
            subprocess.run([leap, *command, "--run-dir", run_dir], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            png = os.path.join(tmp, name + ".png")
            screenshot(os.path.join(run_dir, "report.html"), png, tmp)
            crop_and_save(png, os.path.join(args.out, f"report-{name}.png"))


if __name__ == "__main__":
    main()
