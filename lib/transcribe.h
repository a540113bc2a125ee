/*
 * transcribe.h: ChatKit's voice input (input.transcribe): a recording
 * turned into text by an OpenAI-compatible transcription endpoint,
 * <llm_base_url>/audio/transcriptions, with model transcribe_model.
 */
#ifndef QUIPU_TRANSCRIBE_H
#define QUIPU_TRANSCRIBE_H

#include "apperr.h"

struct app;
struct arena;

/*
 * *text (arena) the transcript of the base64 audio `audio_base64' (a
 * "data:...;base64," prefix and white space are allowed), of type
 * `mime_type' (e.g. "audio/webm;codecs=opus"): sent as the multipart
 * fields file (named audio.<ext> after the type, which the service reads)
 * and model, with conf->llm_key as the bearer token when there is one.
 * APP_EUNAVAIL when transcribe_model is empty (*why "transcription is not
 * configured"); APP_EVALIDATION for bad or empty base64, a bad mime type
 * or audio over attachment_max; APP_EUPSTREAM when the service failed or
 * timed out (llm_connect_timeout, llm_timeout). *why (static or arena)
 * says why in a sentence for the client, never with a secret in it.
 */
enum app_err	 transcribe_audio(struct app *, struct arena *,
		    const char *audio_base64, const char *mime_type,
		    char **text, const char **why) MUSTCHECK;

#endif
