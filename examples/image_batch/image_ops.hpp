// image_batch's pixel work: an 8-bit image, an area-averaging resize, and the filters. Pure
// functions of their arguments, no I/O, so the same code runs in the serial baseline and in the
// pool's workers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace image_batch {

// Interleaved 8-bit pixels, `channels` per pixel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels{};  // width * height * channels bytes, row by row
};

enum class Filter : std::uint8_t { kNone, kGray, kBlur };

// The size of a thumbnail whose long side is `long_side` (never larger than the source: no
// upscaling), keeping the aspect ratio; each side at least 1.
void thumbnail_size(int width, int height, int long_side, int& out_width, int& out_height);

// Area averaging: each output pixel is the mean of the source area it covers, partly covered
// source pixels weighted by the covered fraction. Exact for any scale factor <= 1.
[[nodiscard]] Image resize_area(const Image& src, int out_width, int out_height);

// Luma (Rec. 601) into the colour channels; alpha untouched. A no-op on gray images.
void to_gray(Image& image);

// A separable 5-tap binomial blur (1 4 6 4 1)/16 on every channel, edges clamped.
void blur(Image& image);

void apply(Filter filter, Image& image);

// FNV-1a over the size and pixels: equal images have equal checksums.
[[nodiscard]] std::uint64_t checksum(const Image& image);

}  // namespace image_batch
