// image_batch's files (image_io.hpp). Debian's libstb-dev ships stb compiled into libstb, so no
// STB_IMAGE_IMPLEMENTATION here.
#include "image_io.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace image_batch {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": " + why);
}

}  // namespace

const char* extension(Format format) {
  switch (format) {
    case Format::kPng:
      return "png";
    case Format::kJpeg:
      return "jpg";
    case Format::kBmp:
      return "bmp";
    case Format::kPpm:
      return "ppm";
  }
  return "";
}

bool has_image_extension(const std::string& path) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  std::ranges::transform(ext, ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  for (const char* known : {"png", "jpg", "jpeg", "bmp", "ppm", "pgm", "pnm"}) {
    if (ext == known) return true;
  }
  return false;
}

Image load_image(const std::string& path) {
  // Our own fopen, so an unreadable file says why (stb would only say "can't fopen").
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, std::strerror(errno));
  int w = 0;
  int h = 0;
  int channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_file(file.get(), &w, &h, &channels, 0), stbi_image_free);
  if (!data) fail(path, std::string("cannot decode: ") + stbi_failure_reason());
  const std::size_t n = static_cast<std::size_t>(w) * h * channels;
  return Image{w, h, channels, std::vector<std::uint8_t>(data.get(), data.get() + n)};
}

void save_image(const std::string& path, const Image& image, Format format, int jpeg_quality) {
  const int w = image.width;
  const int h = image.height;
  const int c = image.channels;
  const void* px = image.pixels.data();
  int ok = 0;
  switch (format) {
    case Format::kPng:
      ok = stbi_write_png(path.c_str(), w, h, c, px, w * c);
      break;
    case Format::kJpeg:
      ok = stbi_write_jpg(path.c_str(), w, h, c, px, jpeg_quality);
      break;
    case Format::kBmp:
      ok = stbi_write_bmp(path.c_str(), w, h, c, px);
      break;
    case Format::kPpm: {
      if (c != 3) fail(path, "PPM wants 3 channels");
      File file(std::fopen(path.c_str(), "wb"));
      if (!file) fail(path, std::strerror(errno));
      ok = std::fprintf(file.get(), "P6\n%d %d\n255\n", w, h) > 0 &&
           std::fwrite(px, 1, image.pixels.size(), file.get()) == image.pixels.size() &&
           std::fflush(file.get()) == 0;
      if (!ok) fail(path, std::strerror(errno));
      break;
    }
  }
  // stb_image_write reports no reason; the usual one is the file.
  if (!ok) fail(path, std::string("cannot write ") + extension(format) + " file");
}

}  // namespace image_batch
