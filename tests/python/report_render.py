"""The HTML that `leap plot` and `leap train` (report.html of its run directory) write is offline (no script, nothing
fetched) and draws: headless Chromium renders it, and the screenshot holds the runs' line
colours in quantity.

Run by CTest with Debian's python3 and chromium. Exits 77 (skipped) without chromium or PIL."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import harness

Image = harness.require("PIL.Image", "python3-pil")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The report's first two run colours.
RUN_COLOURS = {"blue": (0x1f, 0x77, 0xb4), "red": (0xd6, 0x27, 0x28)}
HEADER = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,us_per_step,steps,lr\n"


def write_run(directory, losses, lr):
    os.makedirs(directory)
    with open(os.path.join(directory, "metrics.csv"), "w") as f:
        f.write(HEADER)
        for epoch, loss in enumerate(losses, 1):
            f.write(f"{epoch},{loss},{1 - loss / 2},{loss + 0.05},{0.95 - loss / 2},2.5,500,938,{lr}\n")


def check_offline(html_file):
    """Failures: anything that would run code or fetch from elsewhere."""
    with open(html_file) as f:
        html = f.read()
    failures = []
    if re.search(r"<script|javascript:|@import|<link|<img", html, re.I):
        failures.append(f"{html_file}: has a script, link or image")
    # The only URL allowed is SVG's namespace name, which is never fetched.
    urls = set(re.findall(r"https?://[^\"' )]+", html)) - {"http://www.w3.org/2000/svg"}
    if urls:
        failures.append(f"{html_file}: refers to {sorted(urls)}")
    if html.count("<svg") < 2:
        failures.append(f"{html_file}: fewer than two charts")
    return failures


def colour_pixels(png, colour, slack=40):
    image = Image.open(png).convert("RGB")
    return sum(count for count, pixel in image.getcolors(image.width * image.height)
               if all(abs(a - b) <= slack for a, b in zip(pixel, colour)))


def render(html_file, png, tmp):
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={os.path.join(tmp, 'profile')}", "--window-size=1100,900",
                    f"--screenshot={png}", "file://" + os.path.abspath(html_file)],
                   check=True, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    args = harness.arguments()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        write_run(os.path.join(tmp, "wide"), [0.6, 0.45, 0.4, 0.38], 0.001)
        write_run(os.path.join(tmp, "narrow"), [0.7, 0.55, 0.5, 0.47], 0.003)
        plot = os.path.join(tmp, "plot.html")
        subprocess.run([args.leap, "plot", os.path.join(tmp, "wide"),
                        os.path.join(tmp, "narrow", "metrics.csv"), "-o", plot], check=True)
        pages = [(plot, ["blue", "red"])]
        if harness.has_fashion_mnist(args.data):
            # The report of leap train's run directory.
            run = os.path.join(tmp, "run")
            subprocess.run([args.leap, "train", "--model", "784-16-10", "--epochs", "2", "--device", "cpu",
                            "--data", args.data, "--run-dir", run], check=True, stdout=subprocess.DEVNULL)
            report = os.path.join(run, "report.html")
            pages.append((report, ["blue"]))
        for page, _ in pages:
            failures += check_offline(page)
        if not CHROMIUM:
            print("chromium not found: the pages are offline, but rendering is skipped "
                  "(install Debian's chromium)")
            sys.exit(1 if failures else harness.SKIPPED)
        for page, colours in pages:
            png = page + ".png"
            render(page, png, tmp)
            for colour in colours:
                count = colour_pixels(png, RUN_COLOURS[colour])
                print(f"{os.path.basename(page)}: {count} {colour} pixels")
                if count < 500:  # a few lines and dots are thousands; a blank page has none
                    failures.append(f"{os.path.basename(page)}: the {colour} run's lines did not draw")
    harness.finish("report render", failures)


if __name__ == "__main__":
    main()
