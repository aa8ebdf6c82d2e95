//! Recordings in, timed transcripts out: decode → 16 kHz → voice segments →
//! the speech model ([`SpeechModel`]), streaming so memory stays bounded however long a recording
//! is.
//!
//! Segments are encoded as soon as voice activity closes them and wait in a
//! bounded queue; the queue is decoded in batches (segments of similar
//! length share each decoder call, see [`BatchLimits`]). The queue spans
//! recordings: [`Transcriber::transcribe_many`] batches the segments of
//! several interviews together, which is what keeps the decoder's batches
//! full when each interview is short.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::assemble::{assemble, place, round_ms, Pending};
use super::batching::{BatchLimits, Decoded, Encoded, ModelInfo};
use super::model::SpeechModel;
use super::windows::{Windower, DEFAULT_WINDOW_GAP_S, DEFAULT_WINDOW_S};
use super::{SpeechError, Transcript};
use crate::media::resample::To16k;
use crate::media::source::{InProcess, MediaOpener};
use crate::media::vad::{Segmenter, SileroVad, SpeechSegment, VadParams};
use crate::media::{MediaError, SAMPLE_RATE};

/// Options of a [`Transcriber`].
#[derive(Debug, Clone)]
pub struct TranscriberOptions {
    /// Folder of the speech model (Whisper or Moonshine).
    pub model_dir: std::path::PathBuf,
    /// The Silero VAD model file.
    pub vad_model: std::path::PathBuf,
    /// ONNX Runtime intra-op threads per session.
    pub threads: usize,
    /// Voice-activity tuning.
    pub vad: VadParams,
    /// Longest recording accepted, seconds.
    pub max_duration_s: f64,
    /// How many segments share a decoder call.
    pub batch: BatchLimits,
    /// Hypotheses per segment in Whisper's beam search (1: greedy).
    pub beams: usize,
    /// Whisper reads consecutive voice segments together in windows of at
    /// most this many seconds, with timestamps (0: each segment alone,
    /// without). Moonshine always reads segments alone.
    pub window_s: f32,
    /// The longest pause inside a window, seconds.
    pub window_gap_s: f32,
    /// Where recordings are demuxed and decoded: [`InProcess`] by default;
    /// the engine supplies one that decodes in a child process under
    /// memory and CPU limits.
    pub decoder: Arc<dyn MediaOpener>,
}

impl Default for TranscriberOptions {
    fn default() -> Self {
        Self {
            model_dir: crate::onnx::models_dir().join(super::DEFAULT_MODEL),
            vad_model: SileroVad::default_path(),
            threads: 1,
            vad: VadParams::default(),
            max_duration_s: 3.0 * 3600.0,
            batch: BatchLimits::default(),
            beams: super::whisper::DEFAULT_BEAMS,
            window_s: DEFAULT_WINDOW_S,
            window_gap_s: DEFAULT_WINDOW_GAP_S,
            decoder: Arc::new(InProcess),
        }
    }
}

impl TranscriberOptions {
    /// Options from `[speech]`, for recordings of at most `max_duration_s`
    /// (`[media] max_duration_s`).
    ///
    /// ```
    /// use panelflow_models::speech::{transcriber::TranscriberOptions, SpeechSection};
    /// let o = TranscriberOptions::from_section(&SpeechSection::default(), 60.0);
    /// assert!(o.model_dir.ends_with("moonshine-base-en"));
    /// assert_eq!((o.threads, o.max_duration_s), (1, 60.0));
    /// ```
    pub fn from_section(speech: &super::SpeechSection, max_duration_s: f64) -> Self {
        let models = speech.models_dir();
        Self {
            model_dir: models.join(&speech.model),
            vad_model: models.join("silero-vad").join("silero_vad.onnx"),
            threads: speech.threads,
            vad: VadParams {
                max_segment_s: speech.max_segment_s,
                ..VadParams::default()
            },
            max_duration_s,
            batch: BatchLimits::default(),
            beams: speech.beams,
            window_s: speech.window_s,
            window_gap_s: speech.window_gap_s,
            decoder: Arc::new(InProcess),
        }
    }
}

/// Loaded models, reused across files.
///
/// ```no_run
/// use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};
/// let mut t = Transcriber::load(&TranscriberOptions::default()).unwrap();
/// let transcript = t.transcribe_file("datasets/real/jfk.flac".as_ref()).unwrap();
/// assert!(transcript.text.to_lowercase().contains("fellow americans"));
/// ```
pub struct Transcriber {
    asr: SpeechModel,
    segmenter: Segmenter,
    /// Packs voice segments into the windows the model reads.
    windows: Windower,
    max_duration_s: f64,
    decoder: Arc<dyn MediaOpener>,
    times: StageTimes,
}

/// Seconds spent in each stage since the transcriber was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    /// Demuxing, decoding and resampling the media.
    pub media_s: f64,
    /// Voice activity (the Silero model and segmenting).
    pub vad_s: f64,
    /// The speech encoder.
    pub encoder_s: f64,
    /// The speech decoder (batched greedy decoding).
    pub decoder_s: f64,
}

/// A recording's transcript with a measure of each of its voice segments
/// (such as the analysis's vocal tone), taken from the 16 kHz audio as it
/// was read, so nothing keeps the whole recording in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured<M> {
    /// The transcript.
    pub transcript: Transcript,
    /// One measure per voice segment, in order.
    pub measures: Vec<M>,
}

/// A recording in progress inside [`Transcriber::transcribe_many_measured`].
struct InFlight<K, M> {
    key: K,
    /// Per voice segment, in order.
    segments: Vec<Pending>,
    /// Per voice segment, its measure.
    measures: Vec<M>,
    /// Segments encoded but not yet decoded.
    outstanding: usize,
    duration_s: f64,
    /// All its audio has been read.
    read: bool,
    error: Option<SpeechError>,
}

/// An encoded segment waiting for the decoder: (recording slot, segment index, states).
type Queued = (usize, usize, Encoded);

impl Transcriber {
    /// Loads the speech and voice-activity models.
    pub fn load(opts: &TranscriberOptions) -> Result<Self, SpeechError> {
        let mut asr = SpeechModel::load(&opts.model_dir, opts.threads)?;
        asr.set_batch_limits(opts.batch);
        asr.set_beams(opts.beams);
        let vad = SileroVad::load(&opts.vad_model)?;
        // No voice segment longer than the model reads whole.
        let longest = asr.longest_segment_s();
        let params = VadParams {
            max_segment_s: opts.vad.max_segment_s.min(longest),
            ..opts.vad
        };
        let window_s = if asr.reads_timestamps() {
            opts.window_s.min(longest).max(0.0)
        } else {
            0.0
        };
        asr.set_timestamps(window_s > 0.0);
        Ok(Self {
            asr,
            segmenter: Segmenter::new(vad, params),
            windows: Windower::new(window_s, opts.window_gap_s),
            max_duration_s: opts.max_duration_s,
            decoder: Arc::clone(&opts.decoder),
            times: StageTimes::default(),
        })
    }

    /// Seconds spent per stage so far (where transcription time goes).
    pub fn stage_times(&self) -> StageTimes {
        self.times
    }

    /// The speech model's provenance.
    pub fn model(&self) -> &ModelInfo {
        self.asr.info()
    }

    /// The speech model itself (batch settings, direct segment decoding).
    pub fn speech_model(&mut self) -> &mut SpeechModel {
        &mut self.asr
    }

    /// Transcribes a media file.
    pub fn transcribe_file(&mut self, path: &Path) -> Result<Transcript, SpeechError> {
        let mut result = None;
        self.transcribe_many(std::iter::once(((), path)), |(), r| result = Some(r));
        result.unwrap_or_else(|| Err(SpeechError::Inference("no result for the file".into())))
    }

    /// Transcribes a media file, measuring each voice segment with `measure`
    /// as it is read.
    pub fn transcribe_file_measured<M>(
        &mut self,
        path: &Path,
        measure: impl FnMut(&SpeechSegment) -> M,
    ) -> Result<Measured<M>, SpeechError> {
        let mut result = None;
        self.transcribe_many_measured(std::iter::once(((), path)), measure, |(), r| {
            result = Some(r)
        });
        result.unwrap_or_else(|| Err(SpeechError::Inference("no result for the file".into())))
    }

    /// Transcribes several media files, batching their segments together.
    /// Results are in the order of `paths`.
    pub fn transcribe_files(&mut self, paths: &[&Path]) -> Vec<Result<Transcript, SpeechError>> {
        let mut results: Vec<Option<Result<Transcript, SpeechError>>> =
            (0..paths.len()).map(|_| None).collect();
        self.transcribe_many(paths.iter().copied().enumerate(), |i, r| {
            results[i] = Some(r)
        });
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(SpeechError::Inference("no result for the file".into())))
            })
            .collect()
    }

    /// Transcribes the recordings `files` yields (each with a caller's key),
    /// calling `done` with each result as soon as it is complete. Files are
    /// read one after the other; their segments share decoder batches. A
    /// file that fails (bad media, too long) fails alone; a failing decoder
    /// call fails the files whose segments it held.
    pub fn transcribe_many<'p, K, I, F>(&mut self, files: I, mut done: F)
    where
        I: IntoIterator<Item = (K, &'p Path)>,
        F: FnMut(K, Result<Transcript, SpeechError>),
    {
        self.transcribe_many_measured(
            files,
            |_| (),
            |key, result| done(key, result.map(|m| m.transcript)),
        );
    }

    /// [`Self::transcribe_many`], also measuring each voice segment with
    /// `measure` as it is read: each result holds the transcript and the
    /// measures of its segments, in order.
    pub fn transcribe_many_measured<'p, K, M, I, G, F>(
        &mut self,
        files: I,
        mut measure: G,
        mut done: F,
    ) where
        I: IntoIterator<Item = (K, &'p Path)>,
        G: FnMut(&SpeechSegment) -> M,
        F: FnMut(K, Result<Measured<M>, SpeechError>),
    {
        let limits = self.asr.batch_limits();
        // Decode when the queue holds this much: enough choice to group
        // similar lengths, bounded memory (about 1.7 KB per frame).
        let flush_segments = limits.max_segments.saturating_mul(4).max(1);
        let flush_frames = limits.max_frames.saturating_mul(4).max(1);
        let mut slots: Vec<Option<InFlight<K, M>>> = Vec::new();
        let mut queue: Vec<Queued> = Vec::new();
        for (key, path) in files {
            let slot = match slots.iter().position(Option::is_none) {
                Some(s) => s,
                None => {
                    slots.push(None);
                    slots.len() - 1
                }
            };
            slots[slot] = Some(InFlight {
                key,
                segments: Vec::new(),
                measures: Vec::new(),
                outstanding: 0,
                duration_s: 0.0,
                read: false,
                error: None,
            });
            let read = self.read_file(
                path,
                slot,
                &mut slots,
                &mut queue,
                (flush_segments, flush_frames),
                &mut measure,
                &mut done,
            );
            if let Some(Some(f)) = slots.get_mut(slot) {
                f.read = true;
                if let Err(e) = read {
                    f.error.get_or_insert(e);
                    queue.retain(|(s, _, _)| *s != slot);
                    f.outstanding = 0;
                }
            }
            self.finish_ready(&mut slots, &mut done);
        }
        if !queue.is_empty() {
            self.flush(&mut queue, &mut slots);
        }
        self.finish_ready(&mut slots, &mut done);
    }

    /// Reads one file into the queue, decoding whenever the queue is full.
    #[allow(clippy::too_many_arguments)]
    fn read_file<K, M, G, F>(
        &mut self,
        path: &Path,
        slot: usize,
        slots: &mut [Option<InFlight<K, M>>],
        queue: &mut Vec<Queued>,
        (flush_segments, flush_frames): (usize, usize),
        measure: &mut G,
        done: &mut F,
    ) -> Result<(), SpeechError>
    where
        G: FnMut(&SpeechSegment) -> M,
        F: FnMut(K, Result<Measured<M>, SpeechError>),
    {
        let duration_s = self.stream_voice(path, |t, closed, last| {
            t.enqueue(closed, last, slot, slots, queue, measure)?;
            let frames: usize = queue.iter().map(|(_, _, e)| e.frames()).sum();
            if queue.len() >= flush_segments || frames >= flush_frames {
                t.flush(queue, slots);
                t.finish_ready(slots, done);
                if let Some(Some(InFlight { error: Some(_), .. })) = slots.get(slot) {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if let Some(Some(f)) = slots.get_mut(slot) {
            f.duration_s = duration_s;
        }
        Ok(())
    }

    /// Streams a recording through decode → 16 kHz → voice activity, calling
    /// `each` with the voice segments each chunk of audio closes (drained by
    /// `each`, which may use the transcriber meanwhile and returns whether to
    /// go on; its flag is set on the last call, at the end of the audio). Returns the recording's duration in seconds (0 when `each`
    /// stopped early). Refuses recordings longer than the limit, by their
    /// declared duration before reading, else when the audio passes it.
    pub fn stream_voice<F>(&mut self, path: &Path, mut each: F) -> Result<f64, SpeechError>
    where
        F: FnMut(&mut Self, &mut Vec<SpeechSegment>, bool) -> Result<bool, SpeechError>,
    {
        self.windows.reset();
        let started = Instant::now();
        let mut decoder = self.decoder.open(path)?;
        self.times.media_s += started.elapsed().as_secs_f64();
        if let Some(declared) = decoder.declared_duration_s() {
            if declared > self.max_duration_s {
                return Err(MediaError::TooLong {
                    limit_s: self.max_duration_s,
                }
                .into());
            }
        }
        let mut resampler = To16k::new(decoder.sample_rate())?;
        self.segmenter.reset();
        let mut total: u64 = 0;
        let limit = (self.max_duration_s * SAMPLE_RATE as f64) as u64;
        let mut closed = Vec::new();
        loop {
            let started = Instant::now();
            let Some(chunk) = decoder.next_chunk()? else {
                break;
            };
            let audio = resampler.push(&chunk)?;
            self.times.media_s += started.elapsed().as_secs_f64();
            total += audio.len() as u64;
            if total > limit {
                return Err(MediaError::TooLong {
                    limit_s: self.max_duration_s,
                }
                .into());
            }
            let started = Instant::now();
            closed.extend(self.segmenter.push(&audio)?);
            self.times.vad_s += started.elapsed().as_secs_f64();
            if !each(self, &mut closed, false)? {
                return Ok(0.0);
            }
        }
        let tail = resampler.finish()?;
        total += tail.len() as u64;
        let started = Instant::now();
        closed.extend(self.segmenter.push(&tail)?);
        closed.extend(self.segmenter.finish()?);
        self.times.vad_s += started.elapsed().as_secs_f64();
        each(self, &mut closed, true)?;
        Ok(total as f64 / SAMPLE_RATE as f64)
    }

    /// The units the model reads from closed voice segments (drained): the
    /// segments themselves, or the windows they close (and, at the end of
    /// the recording, the last one). `voice` sees each voice segment first.
    pub fn units(
        &mut self,
        closed: &mut Vec<SpeechSegment>,
        last: bool,
        mut voice: impl FnMut(&SpeechSegment),
    ) -> Vec<SpeechSegment> {
        let mut units = Vec::new();
        for speech in closed.drain(..) {
            voice(&speech);
            units.extend(self.windows.push(speech));
        }
        if last {
            units.extend(self.windows.finish());
        }
        units
    }

    /// Runs one voice segment's audio through the encoder (timed as the
    /// encoder stage).
    pub fn encode_segment(&mut self, samples: &[f32]) -> Result<Encoded, SpeechError> {
        let started = Instant::now();
        let encoded = self.asr.encode(samples);
        self.times.encoder_s += started.elapsed().as_secs_f64();
        encoded
    }

    /// Decodes encoded segments in batches (timed as the decoder stage);
    /// one result per segment, in order.
    pub fn decode_segments(&mut self, encoded: &[Encoded]) -> Result<Vec<Decoded>, SpeechError> {
        let started = Instant::now();
        let decoded = self.asr.decode_batch(encoded);
        self.times.decoder_s += started.elapsed().as_secs_f64();
        decoded
    }

    /// The speech model and its decoding setting in a file-name-safe word
    /// (`moonshine-base-en`, `whisper-base-beam5-timed-w28-g0.6`): what a
    /// transcript depends on.
    pub fn model_key(&self) -> String {
        if self.windows.packs() {
            format!("{}-{}", self.asr.key(), self.windows.key())
        } else {
            self.asr.key()
        }
    }

    /// The name the transcripts give the model: `name (version)`.
    pub fn model_label(&self) -> String {
        format!("{} ({})", self.asr.info().name, self.asr.info().version)
    }

    /// Encodes closed voice segments (or the windows they close) into the queue.
    #[allow(clippy::too_many_arguments)]
    fn enqueue<K, M>(
        &mut self,
        closed: &mut Vec<SpeechSegment>,
        last: bool,
        slot: usize,
        slots: &mut [Option<InFlight<K, M>>],
        queue: &mut Vec<Queued>,
        measure: &mut impl FnMut(&SpeechSegment) -> M,
    ) -> Result<(), SpeechError> {
        let Some(Some(file)) = slots.get_mut(slot) else {
            return Ok(());
        };
        let units = self.units(closed, last, |speech| file.measures.push(measure(speech)));
        for speech in units {
            let encoded = self.encode_segment(&speech.samples)?;
            file.segments
                .push((round_ms(speech.start_s()), round_ms(speech.end_s()), None));
            file.outstanding += 1;
            queue.push((slot, file.segments.len() - 1, encoded));
        }
        Ok(())
    }

    /// Decodes everything queued.
    fn flush<K, M>(&mut self, queue: &mut Vec<Queued>, slots: &mut [Option<InFlight<K, M>>]) {
        let items: Vec<Queued> = std::mem::take(queue);
        let (owners, encoded): (Vec<(usize, usize)>, Vec<Encoded>) = items
            .into_iter()
            .map(|(slot, seg, e)| ((slot, seg), e))
            .unzip();
        match self.decode_segments(&encoded) {
            Ok(decoded) => {
                for ((slot, seg), d) in owners.into_iter().zip(decoded) {
                    if let Some(Some(f)) = slots.get_mut(slot) {
                        if let Some(s) = f.segments.get_mut(seg) {
                            s.2 = Some(place(s.0, s.1, d));
                        }
                        f.outstanding = f.outstanding.saturating_sub(1);
                    }
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for (slot, _) in owners {
                    if let Some(Some(f)) = slots.get_mut(slot) {
                        f.error
                            .get_or_insert_with(|| SpeechError::Inference(reason.clone()));
                        f.outstanding = 0;
                    }
                }
            }
        }
    }

    /// Hands over every recording that is read and fully decoded.
    fn finish_ready<K, M, F>(&self, slots: &mut [Option<InFlight<K, M>>], done: &mut F)
    where
        F: FnMut(K, Result<Measured<M>, SpeechError>),
    {
        for slot in slots.iter_mut() {
            let ready =
                matches!(slot, Some(f) if f.read && (f.outstanding == 0 || f.error.is_some()));
            if !ready {
                continue;
            }
            let Some(file) = slot.take() else { continue };
            if let Some(e) = file.error {
                done(file.key, Err(e));
                continue;
            }
            done(
                file.key,
                Ok(Measured {
                    transcript: assemble(file.segments, file.duration_s, self.model_label()),
                    measures: file.measures,
                }),
            );
        }
    }
}
