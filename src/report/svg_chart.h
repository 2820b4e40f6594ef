// A line chart as inline SVG: axes with round-numbered ticks, one polyline per series (broken
// where a value is missing), a dot on every point so that one-epoch runs still show.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace leap {

struct ChartSeries {
  std::string color;  // any SVG colour, e.g. "#1f77b4"
  bool dashed = false;
  std::vector<std::pair<double, double>> points;  // (x, y); NaN y is a gap
  // (low, high) for each point, drawn as a translucent area around the line; empty: none.
  std::vector<std::pair<double, double>> band = {};
};

struct Chart {
  std::string title, x_label;
  std::vector<ChartSeries> series;
};

// Empty when no series has a finite point (nothing worth drawing).
std::string svg_chart(const Chart& chart);

// Text made safe inside HTML and SVG.
std::string escape_html(const std::string& text);

}  // namespace leap
