// earshot-whisper-worker: one loaded whisper.cpp model, several decoding states, driven over stdio.
//
// Why a process and not a Node addon: the server must survive native crashes, asserts and hangs.
// A worker process gives that for free (kill -9 is always available), needs no Node headers or
// N-API glue at install time, and lets several decoding states share one copy of the weights.
//
// Framing (both directions): u32 little-endian length, then that many bytes of UTF-8 JSON.
// A "transcribe" request is followed by `bytes` bytes of little-endian float32 PCM, 16 kHz mono.
//
// host -> worker: {"type":"transcribe","id":..., "bytes":N, options...} | {"type":"cancel","id":...}
//                 | {"type":"ping","id":...} | {"type":"shutdown"}
// worker -> host: {"type":"ready", info} | {"type":"progress","id","progress"}
//                 | {"type":"segment","id","segment"} | {"type":"result","id",...}
//                 | {"type":"error","id","code","message"} | {"type":"pong","id"} | {"type":"log",...}

#include "whisper.h"
#include "ggml-backend.h"
#include "json.hpp"

#ifdef EARSHOT_SHARED_GGML
#include <dlfcn.h>
#endif

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <algorithm>
#include <chrono>

using json = nlohmann::json;

namespace {

std::mutex g_out_mutex;

void write_frame(const json & msg) {
    // Token text can end mid UTF-8 sequence; replace rather than throw.
    const std::string body = msg.dump(-1, ' ', false, json::error_handler_t::replace);
    const uint32_t len = static_cast<uint32_t>(body.size());
    unsigned char hdr[4] = {
        static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>((len >> 8) & 0xff),
        static_cast<unsigned char>((len >> 16) & 0xff), static_cast<unsigned char>((len >> 24) & 0xff)};
    std::lock_guard<std::mutex> lock(g_out_mutex);
    fwrite(hdr, 1, 4, stdout);
    fwrite(body.data(), 1, body.size(), stdout);
    fflush(stdout);
}

bool read_exact(void * dst, size_t n) {
    auto * p = static_cast<unsigned char *>(dst);
    while (n > 0) {
        const size_t got = fread(p, 1, n, stdin);
        if (got == 0) return false;
        p += got;
        n -= got;
    }
    return true;
}

struct Job {
    std::string id;
    json options;
    std::vector<float> pcm;
    std::atomic<bool> abort{false};
    bool stopped_in_graph = false;  // the abort cut a graph computation short (reported for diagnostics)
    int n_reported = 0;          // segments already streamed
    float temperature = 0.0f;    // temperature of the window being decoded (from whisper.cpp's log)
    std::vector<float> seg_temperature;
    std::vector<int64_t> seg_seek;  // start of the 30 s window each segment was decoded in (centiseconds)
    int64_t window_end = 0;         // where whisper.cpp seeks next: end of the previous window's last segment
};

// The decode thread a log line comes from tells which job it belongs to.
thread_local Job * t_current_job = nullptr;

void log_callback(ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_DEBUG) {
        // whisper.cpp (built with WHISPER_DEBUG) announces each decode attempt with its temperature;
        // this is the only way its fallback temperature reaches us, and it is per segment window.
        if (t_current_job != nullptr) {
            const char * p = strstr(text, "decoding with");
            if (p != nullptr) {
                const char * t = strstr(p, "temperature = ");
                if (t != nullptr) t_current_job->temperature = strtof(t + 14, nullptr);
            }
        }
        // EARSHOT_WHISPER_DEBUG=1: whisper.cpp's decoder trace (scores, entropies, fallbacks) on stderr,
        // for tuning the fallback thresholds on real audio.
        static const bool trace = getenv("EARSHOT_WHISPER_DEBUG") != nullptr;
        if (trace) fputs(text, stderr);
        return;
    }
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) {
        std::string s(text);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        if (!s.empty()) fprintf(stderr, "%s\n", s.c_str());
    }
}

// --- Prompt cancellation --------------------------------------------------------------------
// whisper.cpp consults its abort callback only after a whole encoder or decoder graph, so a cancel
// could wait for a full encoder pass (seconds on a CPU, far more for large models). ggml's CPU
// backend can check an abort callback between graph nodes, but whisper.cpp does not arm it for its
// scheduler. Every graph whisper.cpp runs goes through ggml_backend_sched_graph_compute, so we hook
// that one call (a link-time wrap in static builds, symbol interposition when ggml is a shared
// library) and arm the callback of each backend of the scheduler with the current job's flag.
bool job_aborted(void * data) {
    Job * job = static_cast<Job *>(data);
    if (!job->abort.load(std::memory_order_relaxed)) return false;
    job->stopped_in_graph = true;
    return true;
}

void arm_abort(ggml_backend_sched_t sched) {
    Job * job = t_current_job;
    for (int i = 0; i < ggml_backend_sched_get_n_backends(sched); ++i) {
        ggml_backend_t backend = ggml_backend_sched_get_backend(sched, i);
        ggml_backend_dev_t dev = ggml_backend_get_device(backend);
        ggml_backend_reg_t reg = dev ? ggml_backend_dev_backend_reg(dev) : nullptr;
        if (reg == nullptr) continue;
        auto * set_abort = reinterpret_cast<ggml_backend_set_abort_callback_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_abort_callback"));
        // No job on this thread: disarm, so no callback can outlive the job it points to.
        if (set_abort != nullptr) set_abort(backend, job ? job_aborted : nullptr, job);
    }
}

// Tells (for diagnostics and tests) whether the abort cut a graph computation short.
std::string aborted_message(const Job & job) {
    return job.stopped_in_graph ? "transcription aborted mid-computation" : "transcription aborted";
}

struct Word {
    std::string text;
    int64_t t0 = -1, t1 = -1;
    int64_t dtw = -1;  // DTW time of the word's first token (centiseconds)
    double p_sum = 0;
    int n = 0;
};

json segment_json(whisper_context * ctx, whisper_state * state, int i, bool words, float temperature, int64_t seek) {
    const whisper_token eot = whisper_token_eot(ctx);
    const int n_tokens = whisper_full_n_tokens_from_state(state, i);
    json tokens = json::array();
    double plog_sum = 0;
    int plog_n = 0;
    std::vector<Word> out_words;
    for (int k = 0; k < n_tokens; k++) {
        const whisper_token_data td = whisper_full_get_token_data_from_state(state, i, k);
        if (td.id >= eot) continue;  // specials and timestamp tokens
        tokens.push_back(td.id);
        plog_sum += td.plog;
        plog_n++;
        if (!words) continue;
        const char * piece = whisper_token_to_str(ctx, td.id);
        const bool starts_word = piece[0] == ' ' || out_words.empty();
        if (starts_word) out_words.emplace_back();
        Word & w = out_words.back();
        w.text += piece;
        if (w.t0 < 0) w.t0 = td.t0;
        if (w.dtw < 0) w.dtw = td.t_dtw;
        w.t1 = td.t1;
        w.p_sum += td.p;
        w.n++;
    }
    json seg = {
        {"t0", whisper_full_get_segment_t0_from_state(state, i)},
        {"t1", whisper_full_get_segment_t1_from_state(state, i)},
        {"text", whisper_full_get_segment_text_from_state(state, i)},
        {"tokens", tokens},
        {"avg_logprob", plog_n > 0 ? plog_sum / plog_n : 0.0},
        {"no_speech_prob", whisper_full_get_segment_no_speech_prob_from_state(state, i)},
        {"temperature", temperature},
        {"seek", seek},
    };
    if (words) {
        json ws = json::array();
        for (const Word & w : out_words) {
            ws.push_back({{"word", w.text}, {"t0", w.t0}, {"t1", w.t1}, {"dtw", w.dtw}, {"p", w.n ? w.p_sum / w.n : 0.0}});
        }
        seg["words"] = ws;
    }
    return seg;
}

struct SegmentCtx {
    Job * job;
    bool words;
    bool stream;
    bool progress;
};

// A decoder loop: the same run of 1-3 tokens three times in a row, or of 4-8 tokens twice
// (worker.py has the same rule).
bool repeats(const std::vector<whisper_token> & tokens) {
    for (int n = 1; n <= 8; n++) {
        const int times = n < 4 ? 3 : 2;
        for (int i = 0; i + n * times <= static_cast<int>(tokens.size()); i++) {
            bool same = true;
            for (int k = 1; k < times && same; k++) {
                same = std::equal(tokens.begin() + i, tokens.begin() + i + n, tokens.begin() + i + k * n);
            }
            if (same) return true;
        }
    }
    return false;
}

// A greedy try on a short window to redo on the full one: a segment that reached the token cap,
// repeats itself, or has a mean token log-probability under -1 (where whisper.cpp, like
// faster-whisper, would fall back to sampling).
bool looped(whisper_context * ctx, whisper_state * state, int cap) {
    const int n = whisper_full_n_segments_from_state(state);
    for (int i = 0; i < n; i++) {
        std::vector<whisper_token> text;
        double logprob = 0;
        const int t = whisper_full_n_tokens_from_state(state, i);
        for (int j = 0; j < t; j++) {
            const whisper_token id = whisper_full_get_token_id_from_state(state, i, j);
            if (id >= whisper_token_eot(ctx)) continue;
            text.push_back(id);
            logprob += std::log(std::max(1e-9f, whisper_full_get_token_p_from_state(state, i, j)));
        }
        if (static_cast<int>(text.size()) >= cap - 2 || repeats(text)) return true;
        if (!text.empty() && logprob / text.size() < -1.0) return true;
    }
    return false;
}

// Records (and streams, if asked) the segments decoded since the last call. Called from both
// callbacks, whichever sees them first: with DTW on, whisper.cpp 1.9.1 passes a wrong count to
// new_segment_callback and skips it after the first window, while the progress callback runs at
// the start of every window.
void report_new_segments(whisper_context * ctx, whisper_state * st, SegmentCtx * sc) {
    Job * job = sc->job;
    const int n = whisper_full_n_segments_from_state(st);
    if (n <= job->n_reported) return;
    const int64_t seek = job->window_end;
    for (int i = job->n_reported; i < n; i++) {
        job->seg_temperature.push_back(job->temperature);
        job->seg_seek.push_back(seek);
        if (sc->stream) {
            write_frame({{"type", "segment"}, {"id", job->id}, {"index", i}, {"segment", segment_json(ctx, st, i, sc->words, job->temperature, seek)}});
        }
    }
    job->n_reported = n;
    job->window_end = whisper_full_get_segment_t1_from_state(st, n - 1);
}

class Worker {
public:
    // `load_dtw` loads a second copy of the model with cross-attention DTW (and without flash
    // attention, which DTW cannot use); it runs on the first job that asks for word times, so jobs
    // that don't ask never pay DTW's cost and a server that never sees such a job never loads it.
    Worker(whisper_context * ctx, std::function<whisper_context *()> load_dtw, int parallel, int default_threads)
        : ctx_(ctx), load_dtw_(std::move(load_dtw)), default_threads_(default_threads) {
        for (int i = 0; i < parallel; i++) threads_.emplace_back([this] { run(); });
    }

    ~Worker() {
        if (dtw_ctx_ != nullptr) whisper_free(dtw_ctx_);
    }

    void submit(std::shared_ptr<Job> job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_[job->id] = job;
            queue_.push_back(job);
        }
        cv_.notify_one();
    }

    void cancel(const std::string & id) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = jobs_.find(id);
        if (it != jobs_.end()) it->second->abort = true;
    }

    void shutdown() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            for (auto & kv : jobs_) kv.second->abort = true;
        }
        cv_.notify_all();
        for (auto & t : threads_) t.join();
    }

private:
    whisper_context * dtw_context() {
        std::lock_guard<std::mutex> lock(dtw_mutex_);
        if (!dtw_tried_ && load_dtw_) {
            dtw_tried_ = true;
            dtw_ctx_ = load_dtw_();
        }
        return dtw_ctx_;
    }

    void run() {
        // One decoding state per context, created on first use and reused for every later job.
        whisper_state * state = nullptr;
        whisper_state * dtw_state = nullptr;
        for (;;) {
            std::shared_ptr<Job> job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (stopping_ && queue_.empty()) break;
                job = queue_.front();
                queue_.pop_front();
            }
            const bool wants_dtw = load_dtw_ && job->options.value("word_timestamps", false);
            whisper_context * ctx = wants_dtw ? dtw_context() : ctx_;
            whisper_state *& st = wants_dtw ? dtw_state : state;
            if (ctx == nullptr) {
                write_frame({{"type", "error"}, {"id", job->id}, {"code", "internal"}, {"message", "failed to load the model for word timing"}});
            } else {
                if (st == nullptr) st = whisper_init_state(ctx);
                if (st == nullptr) {
                    write_frame({{"type", "error"}, {"id", job->id}, {"code", "internal"}, {"message", "failed to allocate a decoding state"}});
                } else {
                    t_current_job = job.get();
                    process(*job, ctx, st);
                    t_current_job = nullptr;
                }
            }
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_.erase(job->id);
        }
        if (state != nullptr) whisper_free_state(state);
        if (dtw_state != nullptr) whisper_free_state(dtw_state);
    }

    void process(Job & job, whisper_context * ctx, whisper_state * state) {
        const json & o = job.options;
        const auto t_start = std::chrono::steady_clock::now();
        const int threads = o.value("threads", default_threads_);
        const int beam_size = o.value("beam_size", 1);
        whisper_full_params p = whisper_full_default_params(beam_size > 1 ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
        p.n_threads = threads;
        p.print_progress = false;
        p.print_realtime = false;
        p.print_timestamps = false;
        p.print_special = false;
        p.translate = o.value("translate", false);
        // Every job starts clean: the state is reused across jobs, and whisper.cpp would otherwise
        // prompt this job with the previous job's text. "no_context" from the host means no
        // conditioning on earlier windows inside this job either.
        p.no_context = true;
        if (o.value("no_context", false)) p.n_max_text_ctx = 0;
        p.single_segment = o.value("single_segment", false);
        p.no_timestamps = o.value("no_timestamps", false);
        p.token_timestamps = o.value("word_timestamps", false);
        p.suppress_nst = o.value("suppress_nst", false);
        p.temperature = o.value("temperature", 0.0f);
        p.temperature_inc = o.value("temperature_inc", 0.2f);
        p.greedy.best_of = o.value("best_of", 5);
        p.beam_search.beam_size = beam_size;
        // A shorter encoder window (whisper.cpp's audio_ctx): the audio plus 1 s instead of 30 s.
        // Whisper was trained on full windows and can loop on a short one, so the short window gets one
        // greedy try with its text capped by the audio's length, redone on the full window when looped().
        const double audio_seconds = static_cast<double>(job.pcm.size()) / WHISPER_SAMPLE_RATE;
        const double ctx_seconds = o.value("audio_ctx_s", 0.0);
        const int token_cap = static_cast<int>(10 + 8 * audio_seconds);
        if (ctx_seconds > 0 && audio_seconds < 30.0) {
            // encoder positions: 50 per second, 1500 for the full window; one greedy try (no sampling fallback)
            p.audio_ctx = std::min(1500, static_cast<int>(std::ceil(std::max(ctx_seconds, audio_seconds + 1.0) * 50)));
            p.max_tokens = token_cap;
            p.temperature_inc = 0.0f;
        }
        const std::string prompt = o.value("initial_prompt", std::string());
        if (!prompt.empty()) p.initial_prompt = prompt.c_str();

        // Language: explicit, or detected here so the probabilities can be returned.
        std::string language = o.value("language", std::string("auto"));
        json lang_probs = nullptr;
        if (!whisper_is_multilingual(ctx)) {
            language = "en";
        } else if (language.empty() || language == "auto") {
            if (whisper_pcm_to_mel_with_state(ctx, state, job.pcm.data(), static_cast<int>(job.pcm.size()), threads) != 0) {
                write_frame({{"type", "error"}, {"id", job.id}, {"code", "bad_audio"}, {"message", "failed to compute the mel spectrogram"}});
                return;
            }
            std::vector<float> probs(whisper_lang_max_id() + 1, 0.0f);
            const int lang_id = whisper_lang_auto_detect_with_state(ctx, state, 0, threads, probs.data());
            if (lang_id < 0) {
                if (job.abort.load()) {
                    write_frame({{"type", "error"}, {"id", job.id}, {"code", "aborted"}, {"message", aborted_message(job)}});
                    return;
                }
                write_frame({{"type", "error"}, {"id", job.id}, {"code", "internal"}, {"message", "language detection failed"}});
                return;
            }
            language = whisper_lang_str(lang_id);
            std::vector<std::pair<float, int>> ranked;
            for (int i = 0; i <= whisper_lang_max_id(); i++) ranked.emplace_back(probs[i], i);
            std::partial_sort(ranked.begin(), ranked.begin() + 5, ranked.end(), std::greater<>());
            lang_probs = json::object();
            for (int i = 0; i < 5; i++) lang_probs[whisper_lang_str(ranked[i].second)] = ranked[i].first;
        }
        p.language = language.c_str();
        p.detect_language = false;

        p.abort_callback = [](void * ud) { return static_cast<Job *>(ud)->abort.load(); };
        p.abort_callback_user_data = &job;
        p.encoder_begin_callback = [](whisper_context *, whisper_state *, void * ud) { return !static_cast<Job *>(ud)->abort.load(); };
        p.encoder_begin_callback_user_data = &job;

        const bool words = p.token_timestamps;
        const bool stream_segments = o.value("stream_segments", false);
        SegmentCtx seg_ctx{&job, words, stream_segments, o.value("progress", false)};
        p.new_segment_callback = [](whisper_context * ctx, whisper_state * st, int, void * ud) {
            report_new_segments(ctx, st, static_cast<SegmentCtx *>(ud));
        };
        p.new_segment_callback_user_data = &seg_ctx;
        p.progress_callback = [](whisper_context * ctx, whisper_state * st, int progress, void * ud) {
            auto * sc = static_cast<SegmentCtx *>(ud);
            report_new_segments(ctx, st, sc);
            if (sc->progress) write_frame({{"type", "progress"}, {"id", sc->job->id}, {"progress", progress}});
        };
        p.progress_callback_user_data = &seg_ctx;

        int rc = whisper_full_with_state(ctx, state, p, job.pcm.data(), static_cast<int>(job.pcm.size()));
        if (rc == 0 && p.audio_ctx > 0 && !stream_segments && !job.abort.load() && looped(ctx, state, token_cap)) {
            p.audio_ctx = 0;
            p.max_tokens = 0;
            p.temperature_inc = o.value("temperature_inc", 0.2f);
            job.n_reported = 0;
            job.seg_temperature.clear();
            job.seg_seek.clear();
            rc = whisper_full_with_state(ctx, state, p, job.pcm.data(), static_cast<int>(job.pcm.size()));
        }
        if (job.abort.load()) {
            write_frame({{"type", "error"}, {"id", job.id}, {"code", "aborted"}, {"message", aborted_message(job)}});
            return;
        }
        if (rc != 0) {
            write_frame({{"type", "error"}, {"id", job.id}, {"code", "internal"}, {"message", "whisper_full failed with code " + std::to_string(rc)}});
            return;
        }
        report_new_segments(ctx, state, &seg_ctx);  // the last window's, if no callback reported them
        json segments = json::array();
        const int n = whisper_full_n_segments_from_state(state);
        for (int i = 0; i < n; i++) {
            const bool known = i < static_cast<int>(job.seg_temperature.size());
            segments.push_back(segment_json(ctx, state, i, words, known ? job.seg_temperature[i] : p.temperature, known ? job.seg_seek[i] : 0));
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
        write_frame({{"type", "result"},
                     {"id", job.id},
                     {"language", whisper_lang_str(whisper_full_lang_id_from_state(state)) ? whisper_lang_str(whisper_full_lang_id_from_state(state)) : language},
                     {"language_probs", lang_probs},
                     {"segments", segments},
                     {"window_s", p.audio_ctx > 0 ? p.audio_ctx / 50.0 : 30.0},
                     {"processing_time", elapsed}});
    }

    whisper_context * ctx_;
    std::function<whisper_context *()> load_dtw_;
    std::mutex dtw_mutex_;
    bool dtw_tried_ = false;
    whisper_context * dtw_ctx_ = nullptr;
    int default_threads_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::map<std::string, std::shared_ptr<Job>> jobs_;
    bool stopping_ = false;
};

const char * arg_value(int argc, char ** argv, const char * name, const char * fallback) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return fallback;
}

bool arg_flag(int argc, char ** argv, const char * name) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) return true;
    }
    return false;
}

}  // namespace

using sched_compute_fn = ggml_status (*)(ggml_backend_sched_t, ggml_cgraph *);
#ifdef EARSHOT_SHARED_GGML
extern "C" ggml_status ggml_backend_sched_graph_compute(ggml_backend_sched_t sched, ggml_cgraph * graph) {
    static const auto real = reinterpret_cast<sched_compute_fn>(dlsym(RTLD_NEXT, "ggml_backend_sched_graph_compute"));
    arm_abort(sched);
    return real(sched, graph);
}
#else
extern "C" ggml_status __real_ggml_backend_sched_graph_compute(ggml_backend_sched_t sched, ggml_cgraph * graph);
extern "C" ggml_status __wrap_ggml_backend_sched_graph_compute(ggml_backend_sched_t sched, ggml_cgraph * graph) {
    arm_abort(sched);
    return __real_ggml_backend_sched_graph_compute(sched, graph);
}
#endif

int main(int argc, char ** argv) {
    const char * model = arg_value(argc, argv, "--model", nullptr);
    if (model == nullptr || arg_flag(argc, argv, "--help")) {
        fprintf(stderr, "usage: earshot-whisper-worker --model FILE [--threads N] [--parallel N] [--gpu] [--gpu-device N] [--flash-attn]\n");
        return model == nullptr ? 2 : 0;
    }
    if (arg_flag(argc, argv, "--system-info")) {
        printf("%s\n", whisper_print_system_info());
        return 0;
    }
    const int threads = std::max(1, atoi(arg_value(argc, argv, "--threads", "2")));
    const int parallel = std::max(1, atoi(arg_value(argc, argv, "--parallel", "1")));

    whisper_log_set(log_callback, nullptr);
#ifdef GGML_BACKEND_DL
    // Runtime-dispatch build: the CPU backend variants (and CUDA, if built) are shared libraries
    // next to this binary; ggml picks the best one this CPU supports.
    ggml_backend_load_all();
#endif
    whisper_context_params cparams = whisper_context_default_params();
    cparams.use_gpu = arg_flag(argc, argv, "--gpu");
    cparams.flash_attn = arg_flag(argc, argv, "--flash-attn");
    cparams.gpu_device = atoi(arg_value(argc, argv, "--gpu-device", "0"));
    cparams.dtw_token_timestamps = false;

    whisper_context * ctx = whisper_init_from_file_with_params_no_state(model, cparams);
    if (ctx == nullptr) {
        write_frame({{"type", "fatal"}, {"code", "model_load_failed"}, {"message", std::string("failed to load model from ") + model}});
        return 3;
    }

    // Cross-attention DTW word timing: works with and without timestamp tokens (whisper.cpp's
    // token_timestamps need them). The top text layers' heads fit any model, converted ones too.
    // Only jobs that ask for word times use it (see Worker); the others keep flash attention.
    std::function<whisper_context *()> load_dtw;
    const bool dtw = arg_flag(argc, argv, "--dtw");
    if (dtw) {
        whisper_context_params dparams = cparams;
        dparams.flash_attn = false;
        dparams.dtw_token_timestamps = true;
        dparams.dtw_aheads_preset = WHISPER_AHEADS_N_TOP_MOST;
        dparams.dtw_n_top = std::max(1, atoi(arg_value(argc, argv, "--dtw-n-top", "2")));
        const std::string path = model;
        load_dtw = [dparams, path] { return whisper_init_from_file_with_params_no_state(path.c_str(), dparams); };
    }
    write_frame({{"type", "ready"},
                 {"info",
                  {{"whisper_version", whisper_version()},
                   {"model_type", whisper_model_type_readable(ctx)},
                   {"multilingual", whisper_is_multilingual(ctx) != 0},
                   {"n_vocab", whisper_model_n_vocab(ctx)},
                   {"n_audio_layer", whisper_model_n_audio_layer(ctx)},
                   {"n_text_layer", whisper_model_n_text_layer(ctx)},
                   {"n_mels", whisper_model_n_mels(ctx)},
                   {"ftype", whisper_model_ftype(ctx)},
                   {"gpu", cparams.use_gpu},
                   {"flash_attn", cparams.flash_attn},
                   {"dtw", dtw},
                   {"threads", threads},
                   {"parallel", parallel},
                   {"system_info", whisper_print_system_info()}}}});

    Worker worker(ctx, load_dtw, parallel, threads);
    for (;;) {
        unsigned char hdr[4];
        if (!read_exact(hdr, 4)) break;  // host closed stdin: shut down
        const uint32_t len = hdr[0] | (hdr[1] << 8) | (hdr[2] << 16) | (static_cast<uint32_t>(hdr[3]) << 24);
        if (len > (16u << 20)) {
            write_frame({{"type", "fatal"}, {"code", "protocol"}, {"message", "frame header too large"}});
            break;
        }
        std::string body(len, '\0');
        if (!read_exact(body.data(), len)) break;
        json msg = json::parse(body, nullptr, false);
        if (msg.is_discarded() || !msg.is_object()) {
            write_frame({{"type", "fatal"}, {"code", "protocol"}, {"message", "malformed frame"}});
            break;
        }
        const std::string type = msg.value("type", std::string());
        const std::string id = msg.value("id", std::string());
        if (type == "transcribe") {
            const uint64_t bytes = msg.value("bytes", static_cast<uint64_t>(0));
            auto job = std::make_shared<Job>();
            job->id = id;
            job->pcm.resize(bytes / sizeof(float));
            if (bytes % sizeof(float) != 0 || !read_exact(job->pcm.data(), bytes)) {
                write_frame({{"type", "fatal"}, {"code", "protocol"}, {"message", "truncated audio payload"}});
                break;
            }
            job->options = msg.value("options", json::object());
            worker.submit(job);
        } else if (type == "cancel") {
            worker.cancel(id);
        } else if (type == "ping") {
            write_frame({{"type", "pong"}, {"id", id}});
        } else if (type == "shutdown") {
            break;
        } else {
            write_frame({{"type", "error"}, {"id", id}, {"code", "protocol"}, {"message", "unknown message type: " + type}});
        }
    }
    worker.shutdown();
    whisper_free(ctx);
    return 0;
}
