import type { Voice } from '../client/voices.js'

/** The emulator's voice catalog (ids taken from the vendor's docs). */
export const EMULATOR_VOICES: Voice[] = [
  { voiceId: 'magnus', displayName: 'Magnus', tags: { language: ['english'], accent: 'american', gender: 'male', age: 'middle_aged', emotions: [], usecases: ['narration'] } },
  { voiceId: 'emily', displayName: 'Emily', tags: { language: ['english'], accent: 'american', gender: 'female', age: 'young', emotions: [], usecases: ['conversational'] } },
  { voiceId: 'liam', displayName: 'Liam', tags: { language: ['english'], accent: 'british', gender: 'male', age: 'young', emotions: [], usecases: ['support'] } },
  { voiceId: 'avery', displayName: 'Avery', tags: { language: ['english'], accent: 'american', gender: 'female', age: 'middle_aged', emotions: [], usecases: ['support'] } },
  { voiceId: 'meher', displayName: 'Meher', tags: { language: ['english', 'hindi'], accent: 'indian', gender: 'female', age: 'young', emotions: [], usecases: ['conversational'] } },
  { voiceId: 'devansh', displayName: 'Devansh', tags: { language: ['english', 'hindi'], accent: 'indian', gender: 'male', age: 'young', emotions: [], usecases: ['conversational'] } },
  { voiceId: 'kartik', displayName: 'Kartik', tags: { language: ['hindi'], accent: 'indian', gender: 'male', age: 'middle_aged', emotions: [], usecases: ['narration'] } },
  { voiceId: 'maithili', displayName: 'Maithili', tags: { language: ['hindi', 'marathi'], accent: 'indian', gender: 'female', age: 'young', emotions: [], usecases: ['narration'] } },
]
