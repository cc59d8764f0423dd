#!/usr/bin/env bash
# Generates the two small MPEG-TS test cards the engine simulator embeds for its
# real-video contents (`video = "h264"` / `"mpeg2"` in a catalogue), into
# crates/engine-sim/assets/. The outputs are committed: tests and builds never need
# ffmpeg; run this only to change them.
#
#   scripts/make_test_video.sh
#
# Both files loop seamlessly in the simulator, which shifts PCR/PTS/DTS by the loop
# length each time round. So each length holds a whole number of video frames AND of
# audio frames, and the audio is cut so the encoder's output frames tile it exactly:
#   h264_aac.ts  12.8 s: 320 frames at 25 fps; 600 AAC frames of 1024 samples at
#                48 kHz (AAC's 1024-sample priming counts as one of them, so the
#                input is 1024 samples short of 12.8 s)
#   mpeg2_mp2.ts 6 s: 150 frames at 25 fps; 250 MP2 frames of 1152 samples
# (12 s would hold 562.5 AAC frames: a half-frame audio glitch at every loop.)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v ffmpeg >/dev/null || (apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg)

out=crates/engine-sim/assets
mkdir -p "$out"

# PAT/PMT every 0.1 s (and, from ffmpeg itself, before every keyframe), if this
# ffmpeg has the option.
pat=()
ffmpeg -hide_banner -h muxer=mpegts 2>/dev/null | grep -q -- '-pat_period' && pat=(-pat_period 0.1)

# Bit-exact encoders and no metadata keep the output the same from run to run.
exact=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1)
mux=(-f mpegts -mpegts_flags +resend_headers "${pat[@]}")

# H.264 main 640x360 25 fps, an IDR every second exactly with SPS/PPS in front of
# each, ~600 kbit/s; AAC-LC stereo 48 kHz 96 kbit/s.
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=640x360:rate=25:duration=12.8" \
    -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=12.8" \
    -filter_complex "[1:a]atrim=end_sample=613376,aformat=channel_layouts=stereo[a]" \
    -map 0:v -map "[a]" \
    -c:v libx264 -threads 1 -profile:v main -pix_fmt yuv420p \
    -g 25 -keyint_min 25 -sc_threshold 0 \
    -b:v 600k -maxrate 600k -bufsize 600k -x264-params repeat-headers=1 \
    -c:a aac -profile:a aac_low -ac 2 -ar 48000 -b:a 96k \
    "${exact[@]}" "${mux[@]}" "$out/h264_aac.ts"

# MPEG-2 video 320x180 25 fps, constant 190 kbit/s (the still bars would need far
# less: the encoder stuffs), an I-frame every second; MP2 64 kbit/s: ~300 kbit/s of TS.
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "smptebars=size=320x180:rate=25:duration=6" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=6" \
    -map 0:v -map 1:a \
    -c:v mpeg2video -g 25 -b:v 190k -minrate 190k -maxrate 190k -bufsize 380k \
    -c:a mp2 -ac 2 -ar 48000 -b:a 64k \
    "${exact[@]}" "${mux[@]}" "$out/mpeg2_mp2.ts"

ls -l "$out"/*.ts
