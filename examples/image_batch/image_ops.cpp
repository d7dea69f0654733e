// image_batch's pixel work (image_ops.hpp).
#include "image_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace image_batch {
namespace {

// For one axis: the source pixels that output pixel i covers, and by how much.
struct Tap {
  int first = 0;                  // first source index
  std::vector<double> weights{};  // weights of first, first+1, ...; they sum to 1
};

std::vector<Tap> area_taps(int src, int dst) {
  std::vector<Tap> taps(static_cast<std::size_t>(dst));
  const double scale = static_cast<double>(src) / dst;
  for (int i = 0; i < dst; ++i) {
    const double lo = i * scale;
    const double hi = std::min((i + 1) * scale, static_cast<double>(src));
    Tap& tap = taps[static_cast<std::size_t>(i)];
    tap.first = static_cast<int>(std::floor(lo));
    for (int s = tap.first; s < src && s < hi; ++s) {
      const double covered = std::min<double>(s + 1, hi) - std::max<double>(s, lo);
      tap.weights.push_back(covered / (hi - lo));
    }
  }
  return taps;
}

std::uint8_t to_byte(double v) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

}  // namespace

void thumbnail_size(int width, int height, int long_side, int& out_width, int& out_height) {
  const int longest = std::max(width, height);
  if (longest <= long_side) {
    out_width = width;
    out_height = height;
    return;
  }
  const double scale = static_cast<double>(long_side) / longest;
  out_width = std::max(1, static_cast<int>(std::lround(width * scale)));
  out_height = std::max(1, static_cast<int>(std::lround(height * scale)));
}

Image resize_area(const Image& src, int out_width, int out_height) {
  const int c = src.channels;
  const auto sw = static_cast<std::size_t>(src.width);
  const auto dw = static_cast<std::size_t>(out_width);
  const std::vector<Tap> xs = area_taps(src.width, out_width);
  const std::vector<Tap> ys = area_taps(src.height, out_height);

  // Horizontal pass into doubles (src.height rows of out_width pixels), then the vertical pass.
  std::vector<double> rows(static_cast<std::size_t>(src.height) * dw * c);
  for (std::size_t y = 0; y < static_cast<std::size_t>(src.height); ++y) {
    const std::uint8_t* in = src.pixels.data() + y * sw * c;
    double* out = rows.data() + y * dw * c;
    for (std::size_t x = 0; x < dw; ++x) {
      const Tap& tap = xs[x];
      for (int k = 0; k < c; ++k) {
        double sum = 0;
        for (std::size_t j = 0; j < tap.weights.size(); ++j) {
          sum += tap.weights[j] * in[(static_cast<std::size_t>(tap.first) + j) * c + k];
        }
        out[x * c + k] = sum;
      }
    }
  }
  Image dst{out_width, out_height, c, std::vector<std::uint8_t>(dw * out_height * c)};
  std::vector<double> acc(dw * c);
  for (std::size_t y = 0; y < static_cast<std::size_t>(out_height); ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const Tap& tap = ys[y];
    for (std::size_t j = 0; j < tap.weights.size(); ++j) {
      const double* row = rows.data() + (static_cast<std::size_t>(tap.first) + j) * dw * c;
      for (std::size_t i = 0; i < dw * c; ++i) acc[i] += tap.weights[j] * row[i];
    }
    std::uint8_t* out = dst.pixels.data() + y * dw * c;
    for (std::size_t i = 0; i < dw * c; ++i) out[i] = to_byte(acc[i]);
  }
  return dst;
}

void to_gray(Image& image) {
  if (image.channels < 3) return;
  const auto c = static_cast<std::size_t>(image.channels);
  for (std::size_t i = 0; i + c <= image.pixels.size(); i += c) {
    std::uint8_t* p = image.pixels.data() + i;
    const std::uint8_t luma = to_byte(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
    p[0] = p[1] = p[2] = luma;
  }
}

void blur(Image& image) {
  static constexpr int kTaps[5] = {1, 4, 6, 4, 1};
  const int w = image.width;
  const int h = image.height;
  const int c = image.channels;
  auto at = [c](int width, int x, int y, int k) {
    return (static_cast<std::size_t>(y) * width + x) * c + k;
  };
  std::vector<std::uint8_t> tmp(image.pixels.size());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        int sum = 0;
        for (int t = -2; t <= 2; ++t) {
          sum += kTaps[t + 2] * image.pixels[at(w, std::clamp(x + t, 0, w - 1), y, k)];
        }
        tmp[at(w, x, y, k)] = static_cast<std::uint8_t>((sum + 8) / 16);
      }
    }
  }
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        int sum = 0;
        for (int t = -2; t <= 2; ++t) {
          sum += kTaps[t + 2] * tmp[at(w, x, std::clamp(y + t, 0, h - 1), k)];
        }
        image.pixels[at(w, x, y, k)] = static_cast<std::uint8_t>((sum + 8) / 16);
      }
    }
  }
}

void apply(Filter filter, Image& image) {
  switch (filter) {
    case Filter::kNone:
      return;
    case Filter::kGray:
      to_gray(image);
      return;
    case Filter::kBlur:
      blur(image);
      return;
  }
}

std::uint64_t checksum(const Image& image) {
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::uint64_t byte) {
    h ^= byte;
    h *= 1099511628211ULL;
  };
  for (int v : {image.width, image.height, image.channels}) mix(static_cast<std::uint64_t>(v));
  for (std::uint8_t b : image.pixels) mix(b);
  return h;
}

}  // namespace image_batch
