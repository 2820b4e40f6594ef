#include "svg_chart.h"

#include <algorithm>
#include <cmath>

#include "format_number.h"

namespace leap {
namespace {

constexpr double kWidth = 520, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 32, kBottom = 44;

std::string number(double value) { return format_number("%.6g", std::abs(value) < 1e-12 ? 0.0 : value); }

std::string coordinate(double value) { return format_number("%.2f", value); }

// A step of 1, 2 or 5 times a power of ten that cuts `range` into about `count` parts.
double nice_step(double range, int count) {
  const double raw = range / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0})
    if (raw <= factor * power) return factor * power;
  return 10 * power;
}

struct Axis {
  double low, high, step;
  double map(double value, double from, double to) const {
    return from + (value - low) / (high - low) * (to - from);
  }
};

// Round bounds that hold [low, high]; a flat range is widened so it still has a scale.
Axis make_axis(double low, double high, int ticks) {
  if (high - low < 1e-12 * std::max(1.0, std::abs(high))) {
    const double pad = high != 0 ? std::abs(high) * 0.05 : 0.5;  // scale-aware: rates are ~1e-3
    low -= pad;
    high += pad;
  }
  const double step = nice_step(high - low, ticks);
  return {std::floor(low / step) * step, std::ceil(high / step) * step, step};
}

// The band of a series as one polygon: the highs left to right, then the lows back.
template <typename MapX, typename MapY>
std::string band_polygon(const ChartSeries& series, const MapX& px, const MapY& py) {
  std::string points;
  const size_t n = std::min(series.band.size(), series.points.size());
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(series.band[i].second)) points += px(series.points[i].first) + "," + py(series.band[i].second) + " ";
  for (size_t i = n; i-- > 0;)
    if (std::isfinite(series.band[i].first)) points += px(series.points[i].first) + "," + py(series.band[i].first) + " ";
  if (points.empty()) return "";
  points.pop_back();
  return "<polygon fill=\"" + escape_html(series.color) + "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"" +
         points + "\"/>\n";
}

}  // namespace

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_chart(const Chart& chart) {
  double x_low = INFINITY, x_high = -INFINITY, y_low = INFINITY, y_high = -INFINITY;
  for (const ChartSeries& series : chart.series)
    for (auto [x, y] : series.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x_low = std::min(x_low, x), x_high = std::max(x_high, x);
      y_low = std::min(y_low, y), y_high = std::max(y_high, y);
    }
  for (const ChartSeries& series : chart.series)
    for (auto [low, high] : series.band)
      if (std::isfinite(low) && std::isfinite(high)) y_low = std::min(y_low, low), y_high = std::max(y_high, high);
  if (!std::isfinite(x_low)) return "";
  const Axis x_axis = make_axis(x_low, x_high, 6), y_axis = make_axis(y_low, y_high, 5);
  const double plot_left = kLeft, plot_right = kWidth - kRight;
  const double plot_top = kTop, plot_bottom = kHeight - kBottom;
  auto px = [&](double x) { return coordinate(x_axis.map(x, plot_left, plot_right)); };
  auto py = [&](double y) { return coordinate(y_axis.map(y, plot_bottom, plot_top)); };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth) +
                    "\" height=\"" + number(kHeight) + "\" viewBox=\"0 0 " + number(kWidth) + " " +
                    number(kHeight) + "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<text x=\"" + number(kWidth / 2) + "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">" +
         escape_html(chart.title) + "</text>\n";
  // Grid and tick labels; the small epsilon keeps the last tick despite rounding.
  for (double y = y_axis.low; y <= y_axis.high + y_axis.step * 1e-6; y += y_axis.step) {
    svg += "<line x1=\"" + coordinate(plot_left) + "\" x2=\"" + coordinate(plot_right) + "\" y1=\"" +
           py(y) + "\" y2=\"" + py(y) + "\" stroke=\"#ddd\"/>";
    svg += "<text x=\"" + coordinate(plot_left - 6) + "\" y=\"" + py(y) +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + number(y) + "</text>\n";
  }
  const double x_step = std::max(x_axis.step, 1.0);  // epochs are whole numbers
  for (double x = x_axis.low; x <= x_axis.high + x_step * 1e-6; x += x_step) {
    svg += "<line x1=\"" + px(x) + "\" x2=\"" + px(x) + "\" y1=\"" + coordinate(plot_top) +
           "\" y2=\"" + coordinate(plot_bottom) + "\" stroke=\"#eee\"/>";
    svg += "<text x=\"" + px(x) + "\" y=\"" + coordinate(plot_bottom + 16) +
           "\" text-anchor=\"middle\">" + number(x) + "</text>\n";
  }
  svg += "<rect x=\"" + coordinate(plot_left) + "\" y=\"" + coordinate(plot_top) + "\" width=\"" +
         coordinate(plot_right - plot_left) + "\" height=\"" + coordinate(plot_bottom - plot_top) +
         "\" fill=\"none\" stroke=\"#888\"/>\n";
  svg += "<text x=\"" + number((plot_left + plot_right) / 2) + "\" y=\"" + number(kHeight - 6) +
         "\" text-anchor=\"middle\">" + escape_html(chart.x_label) + "</text>\n";

  for (const ChartSeries& series : chart.series) svg += band_polygon(series, px, py);
  for (const ChartSeries& series : chart.series) {
    const std::string style = "fill=\"none\" stroke=\"" + escape_html(series.color) +
                              "\" stroke-width=\"2\"" +
                              (series.dashed ? " stroke-dasharray=\"6 4\"" : "");
    std::string points, dots;
    auto flush = [&] {
      if (!points.empty()) svg += "<polyline " + style + " points=\"" + points + "\"/>\n";
      points.clear();
    };
    for (auto [x, y] : series.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) {
        flush();
        continue;
      }
      if (!points.empty()) points += ' ';
      points += px(x) + "," + py(y);
      dots += "<circle cx=\"" + px(x) + "\" cy=\"" + py(y) + "\" r=\"2.5\" fill=\"" +
              escape_html(series.color) + "\"/>";
    }
    flush();
    svg += dots + "\n";
  }
  return svg + "</svg>\n";
}

}  // namespace leap
