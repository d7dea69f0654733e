// image_batch's built-in input (samples.hpp).
#include "samples.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "image_io.hpp"

namespace image_batch {
namespace {

// splitmix64: the same numbers on every platform and standard library, unlike <random>'s
// distributions.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
};

Format format_of(int index) {
  switch (index % 16) {
    case 1:
      return Format::kPng;
    case 2:
      return Format::kBmp;
    case 3:
      return Format::kPpm;
    default:
      return Format::kJpeg;
  }
}

std::string manifest_text(const std::vector<SampleSpec>& specs) {
  std::ostringstream out;
  out << "mproc image_batch samples v1\n";
  for (const SampleSpec& s : specs) {
    out << std::filesystem::path(s.path).filename().string() << ' ' << s.width << 'x' << s.height
        << ' ' << s.seed << '\n';
  }
  return out.str();
}

std::string manifest_path(const std::string& dir) { return dir + "/.manifest"; }

}  // namespace

std::vector<SampleSpec> sample_specs(const std::string& dir, int count, int width, int height,
                                     std::uint64_t seed) {
  std::vector<SampleSpec> specs;
  for (int i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "sample_%03d.%s", i, extension(format_of(i)));
    specs.push_back(SampleSpec{dir + "/" + name, i, width, height, seed});
  }
  return specs;
}

std::string write_sample(SampleSpec spec) {
  Rng rng{spec.seed * 1000003 + static_cast<std::uint64_t>(spec.index)};
  const int w = spec.width;
  const int h = spec.height;
  Image img{w, h, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};

  // A diagonal gradient between two random colours.
  double from[3];
  double to[3];
  for (int k = 0; k < 3; ++k) {
    from[k] = 255 * rng.uniform();
    to[k] = 255 * rng.uniform();
  }
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double t = (static_cast<double>(x) / w + static_cast<double>(y) / h) / 2;
      std::uint8_t* p = &img.pixels[(static_cast<std::size_t>(y) * w + x) * 3];
      for (int k = 0; k < 3; ++k) p[k] = static_cast<std::uint8_t>(from[k] + t * (to[k] - from[k]));
    }
  }
  // Soft-edged translucent discs, each touching only its bounding box.
  const int discs = 6 + rng.below(10);
  for (int d = 0; d < discs; ++d) {
    const double cx = w * rng.uniform();
    const double cy = h * rng.uniform();
    const double r = std::min(w, h) * (0.05 + 0.25 * rng.uniform());
    const double alpha = 0.4 + 0.5 * rng.uniform();
    std::uint8_t colour[3];
    for (auto& v : colour) v = static_cast<std::uint8_t>(rng.below(256));
    const int x0 = std::max(0, static_cast<int>(cx - r - 2));
    const int x1 = std::min(w, static_cast<int>(cx + r + 2));
    const int y0 = std::max(0, static_cast<int>(cy - r - 2));
    const int y1 = std::min(h, static_cast<int>(cy + r + 2));
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        const double dist = std::hypot(x - cx, y - cy);
        const double a = alpha * std::clamp(r - dist, 0.0, 1.0);
        if (a == 0) continue;
        std::uint8_t* p = &img.pixels[(static_cast<std::size_t>(y) * w + x) * 3];
        for (int k = 0; k < 3; ++k) p[k] = static_cast<std::uint8_t>(p[k] + a * (colour[k] - p[k]));
      }
    }
  }
  // Film grain, so the codecs have real work to do.
  for (std::uint8_t& v : img.pixels) {
    v = static_cast<std::uint8_t>(std::clamp(v + rng.below(17) - 8, 0, 255));
  }
  save_image(spec.path, img, format_of(spec.index), 90);
  return spec.path;
}

bool samples_cached(const std::string& dir, const std::vector<SampleSpec>& specs) {
  std::ifstream in(manifest_path(dir));
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str() != manifest_text(specs)) return false;
  return std::ranges::all_of(specs,
                             [](const SampleSpec& s) { return std::filesystem::exists(s.path); });
}

void write_manifest(const std::string& dir, const std::vector<SampleSpec>& specs) {
  std::ofstream out(manifest_path(dir), std::ios::trunc);
  out << manifest_text(specs);
  if (!out.flush()) throw std::runtime_error(manifest_path(dir) + ": cannot write");
}

}  // namespace image_batch
