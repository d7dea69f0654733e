// image_batch's built-in input: a deterministic set of procedural photos-to-be (gradients,
// discs, grain) in a mix of formats, generated once into a cache folder and reused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace image_batch {

// One sample to generate: everything a worker needs, so it can be a pool task's argument.
struct SampleSpec {
  std::string path{};
  int index = 0;
  int width = 0;
  int height = 0;
  std::uint64_t seed = 0;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(path, index, width, height, seed);
  }
};

// The set: mostly JPEG, with a PNG, a BMP and a PPM in every 16 (indices 1, 2, 3 mod 16).
[[nodiscard]] std::vector<SampleSpec> sample_specs(const std::string& dir, int count, int width,
                                                   int height, std::uint64_t seed);

// Draws and writes one sample; returns its path. Same spec, same bytes.
std::string write_sample(SampleSpec spec);

// True when dir holds exactly this set, completely written (its manifest says so).
[[nodiscard]] bool samples_cached(const std::string& dir, const std::vector<SampleSpec>& specs);
// Marks the set complete; call after every write_sample succeeded.
void write_manifest(const std::string& dir, const std::vector<SampleSpec>& specs);

}  // namespace image_batch
