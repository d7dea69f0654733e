// image_batch: thumbnails for a folder of images, serially and on an mproc::Pool, timed in one run.
//
//   image_batch                        # 48 generated 1600x1200 samples (cached), both runs
//   image_batch --input ~/Photos --size 320 --filter blur --format jpg --workers 4
//
// Every image (PNG, JPEG, BMP, PPM) is decoded with stb, shrunk by area averaging to --size
// pixels on its long side, filtered (gray, blur or none) and written to --output. A file that
// cannot be read or decoded is reported by name with the reason and costs only itself; the exit
// code is then 2. The last lines are a table: images, megapixels, serial and parallel time,
// speed-up and efficiency per worker.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mproc/mproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "image_io.hpp"
#include "image_ops.hpp"
#include "samples.hpp"

namespace fs = std::filesystem;
using namespace image_batch;

namespace {

// What every task needs besides its file; trivially copyable, so it travels as its bytes.
struct Settings {
  int size = 256;
  Filter filter = Filter::kGray;
  Format format = Format::kPng;
  int jpeg_quality = 90;
};

struct Job {
  std::string input{};
  std::string output{};
  Settings settings{};
  template <class Ar>
  void serialize(Ar& ar) {
    ar(input, output, settings);
  }
};

struct Thumb {
  std::string output{};
  int width = 0;  // of the input
  int height = 0;
  double megapixels = 0;       // of the input
  std::uint64_t checksum = 0;  // of the output pixels: the serial and parallel runs must agree
  template <class Ar>
  void serialize(Ar& ar) {
    ar(output, width, height, megapixels, checksum);
  }
};

// The task: a plain function, so the pool can name it in its workers.
Thumb process_image(Job job) {
  const Image src = load_image(job.input);
  int w = 0;
  int h = 0;
  thumbnail_size(src.width, src.height, job.settings.size, w, h);
  Image thumb = resize_area(src, w, h);
  apply(job.settings.filter, thumb);
  save_image(job.output, thumb, job.settings.format, job.settings.jpeg_quality);
  return Thumb{job.output, src.width, src.height, src.width * double(src.height) / 1e6,
               checksum(thumb)};
}

struct Outcome {
  std::vector<std::optional<Thumb>> thumbs{};  // per job; empty when it failed
  std::vector<std::string> errors{};           // per job; empty when it worked
  double seconds = 0;
  double cpu_seconds = 0;  // user + system, this process and its reaped workers
};

// CPU time so far of this process and of its children that have been reaped: divided by the
// wall time of a phase, how many cores the phase really had (other load on the machine shows).
double cpu_seconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    ::getrusage(who, &u);
    for (const timeval& t : {u.ru_utime, u.ru_stime}) total += t.tv_sec + t.tv_usec / 1e6;
  }
  return total;
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Outcome run_serial(const std::vector<Job>& jobs) {
  Outcome out{std::vector<std::optional<Thumb>>(jobs.size()),
              std::vector<std::string>(jobs.size())};
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    try {
      out.thumbs[i] = process_image(jobs[i]);
    } catch (const std::exception& e) {
      out.errors[i] = e.what();
    }
  }
  out.seconds = since(start);
  out.cpu_seconds = cpu_seconds() - cpu_start;
  return out;
}

// Timed from the pool's first fork to its last worker's exit.
Outcome run_parallel(const std::vector<Job>& jobs, unsigned workers) {
  Outcome out{std::vector<std::optional<Thumb>>(jobs.size()),
              std::vector<std::string>(jobs.size())};
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  {
    mproc::Pool pool(mproc::PoolOptions{.processes = workers, .progress = true});
    auto results = pool.try_map(process_image, jobs);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (results[i].ok()) {
        out.thumbs[i] = std::move(results[i]).value();
        continue;
      }
      try {
        std::rethrow_exception(results[i].error());
      } catch (const mproc::RemoteError& e) {
        out.errors[i] = e.remote_what();  // the task's own message: file and reason
      } catch (const std::exception& e) {
        out.errors[i] = jobs[i].input + ": " + e.what();  // a crash or a timeout
      }
    }
  }
  out.seconds = since(start);
  out.cpu_seconds = cpu_seconds() - cpu_start;
  return out;
}

// The generated samples, made on the pool unless the cache already has them.
std::vector<std::string> ensure_samples(const std::string& dir, int count, int width, int height,
                                        unsigned workers) {
  const std::vector<SampleSpec> specs = sample_specs(dir, count, width, height, 20240601);
  std::vector<std::string> paths;
  for (const SampleSpec& s : specs) paths.push_back(s.path);
  if (samples_cached(dir, specs)) {
    std::printf("samples: %d cached %dx%d images in %s\n", count, width, height, dir.c_str());
    return paths;
  }
  fs::create_directories(dir);
  const auto start = std::chrono::steady_clock::now();
  {
    mproc::Pool pool(mproc::PoolOptions{.processes = workers});
    (void)pool.map(write_sample, specs);
  }
  write_manifest(dir, specs);
  std::printf("samples: generated %d %dx%d images in %s in %.2f s (%u workers)\n", count, width,
              height, dir.c_str(), since(start), workers);
  return paths;
}

std::vector<std::string> list_images(const std::string& dir) {
  std::vector<std::string> paths;
  std::size_t skipped = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().starts_with('.')) continue;
    if (has_image_extension(e.path().string())) {
      paths.push_back(e.path().string());
    } else {
      ++skipped;
    }
  }
  std::ranges::sort(paths);
  std::printf("input: %zu images in %s", paths.size(), dir.c_str());
  if (skipped != 0) std::printf(" (%zu other file%s ignored)", skipped, skipped == 1 ? "" : "s");
  std::printf("\n");
  return paths;
}

// One output per input, named after it; a second input with the same stem keeps its extension.
std::vector<Job> make_jobs(const std::vector<std::string>& inputs, const std::string& out_dir,
                           const Settings& settings) {
  std::vector<Job> jobs;
  std::set<std::string> taken;
  const std::string ext = std::string(".") + extension(settings.format);
  for (const std::string& in : inputs) {
    std::string name = fs::path(in).stem().string() + ext;
    if (!taken.insert(name).second) {
      name = fs::path(in).filename().string() + ext;
      taken.insert(name);
    }
    jobs.push_back(Job{in, out_dir + "/" + name, settings});
  }
  return jobs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Thumbnails for a folder of images, serially and on an mproc::Pool, timed in one "
      "run. Without --input, a generated sample set (cached) is the input."};
  std::string input;
  std::string output = MPROC_IMAGE_BATCH_OUTPUT_DIR;
  std::string cache = MPROC_IMAGE_BATCH_CACHE_DIR;
  Settings settings;
  unsigned workers = mproc::process_cpu_count();
  bool serial_only = false;
  int samples = 48;
  std::string sample_size = "1600x1200";
  app.add_option("-i,--input", input, "Folder of images (PNG, JPEG, BMP, PPM)")
      ->check(CLI::ExistingDirectory);
  app.add_option("-o,--output", output, "Folder for the thumbnails (created)")
      ->capture_default_str();
  app.add_option("-s,--size", settings.size, "Long side of a thumbnail, in pixels")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  std::string filter = "gray";
  app.add_option("-f,--filter", filter, "What to do to a thumbnail")
      ->capture_default_str()
      ->check(CLI::IsMember({"gray", "blur", "none"}));
  std::string format = "png";
  app.add_option("--format", format, "The thumbnails' file format")
      ->capture_default_str()
      ->check(CLI::IsMember({"png", "jpg"}));
  app.add_option("--quality", settings.jpeg_quality, "JPEG quality")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("-w,--workers", workers, "Worker processes (default: CPUs this process may use)")
      ->check(CLI::Range(1u, 1024u));
  app.add_flag("--serial", serial_only, "Run the serial baseline only");
  app.add_option("--cache", cache, "Folder of the generated samples (no --input)")
      ->capture_default_str();
  app.add_option("--samples", samples, "How many samples to generate (no --input)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--sample-size", sample_size, "Size of a generated sample, WxH")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  settings.filter = filter == "gray"   ? Filter::kGray
                    : filter == "blur" ? Filter::kBlur
                                       : Filter::kNone;
  settings.format = format == "jpg" ? Format::kJpeg : Format::kPng;

  try {
    std::vector<std::string> inputs;
    if (input.empty()) {
      int sw = 0;
      int sh = 0;
      if (std::sscanf(sample_size.c_str(), "%dx%d", &sw, &sh) != 2 || sw < 1 || sh < 1) {
        std::fprintf(stderr, "--sample-size: want WxH, such as 1600x1200, not '%s'\n",
                     sample_size.c_str());
        return 1;
      }
      inputs = ensure_samples(cache, samples, sw, sh, workers);
    } else {
      inputs = list_images(input);
    }
    if (inputs.empty()) {
      std::fprintf(stderr, "no images to process\n");
      return 1;
    }
    fs::create_directories(output);
    if (!input.empty() && fs::equivalent(input, output)) {
      std::fprintf(stderr, "--output must not be the --input folder\n");
      return 1;
    }
    const std::vector<Job> jobs = make_jobs(inputs, output, settings);
    std::printf("output: %s (%s thumbnails, %d px on the long side)\n", output.c_str(),
                extension(settings.format), settings.size);
    std::fflush(stdout);

    const Outcome serial = run_serial(jobs);
    std::optional<Outcome> parallel;
    if (!serial_only) parallel = run_parallel(jobs, workers);
    const Outcome& last = parallel ? *parallel : serial;

    std::size_t failed = 0;
    double megapixels = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (last.thumbs[i]) {
        megapixels += last.thumbs[i]->megapixels;
      } else {
        ++failed;
        std::printf("FAILED %s\n", last.errors[i].c_str());
      }
      if (parallel && serial.thumbs[i].has_value() != parallel->thumbs[i].has_value()) {
        std::printf("MISMATCH %s: serial %s, parallel %s\n", jobs[i].input.c_str(),
                    serial.thumbs[i] ? "ok" : "failed", parallel->thumbs[i] ? "ok" : "failed");
        ++failed;
      } else if (parallel && serial.thumbs[i] &&
                 serial.thumbs[i]->checksum != parallel->thumbs[i]->checksum) {
        std::printf("MISMATCH %s: serial and parallel thumbnails differ\n", jobs[i].input.c_str());
        ++failed;
      }
    }

    std::printf("\n%8s %8s %11s %11s %9s %12s\n", "images", "MP", "serial", "parallel", "speed-up",
                "efficiency");
    if (parallel) {
      const double speedup = serial.seconds / parallel->seconds;
      std::printf("%8zu %8.1f %9.3f s %9.3f s %8.2fx %11.0f%%   (%u workers)\n",
                  jobs.size() - failed, megapixels, serial.seconds, parallel->seconds, speedup,
                  100 * speedup / workers, workers);
      // Below `workers` when other load took cores: then the speed-up is capped by that, not us.
      std::printf("cores busy (CPU time / wall time): serial %.2f, parallel %.2f\n",
                  serial.cpu_seconds / serial.seconds, parallel->cpu_seconds / parallel->seconds);
    } else {
      std::printf("%8zu %8.1f %9.3f s %11s %9s %12s\n", jobs.size() - failed, megapixels,
                  serial.seconds, "-", "-", "-");
    }
    if (failed != 0) {
      std::printf("%zu of %zu images failed\n", failed, jobs.size());
      return 2;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "image_batch: %s\n", e.what());
    return 1;
  }
}
