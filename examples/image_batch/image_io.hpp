// image_batch's files: decoding (PNG, JPEG, BMP, PPM/PGM, and whatever else stb_image reads) and
// encoding (PNG, JPEG, BMP, PPM), with Debian's compiled stb (libstb). Failures throw
// std::runtime_error naming the file and the reason (stbi_failure_reason() or errno).
#pragma once

#include <cstdint>
#include <string>

#include "image_ops.hpp"

namespace image_batch {

enum class Format : std::uint8_t { kPng, kJpeg, kBmp, kPpm };

// The file name extension of a format, without the dot: "png", "jpg", "bmp", "ppm".
[[nodiscard]] const char* extension(Format format);

// True when the name ends in an extension load_image is meant for (case-insensitive).
[[nodiscard]] bool has_image_extension(const std::string& path);

[[nodiscard]] Image load_image(const std::string& path);

// jpeg_quality: 1..100, JPEG only. PPM wants 3 channels.
void save_image(const std::string& path, const Image& image, Format format, int jpeg_quality = 90);

}  // namespace image_batch
