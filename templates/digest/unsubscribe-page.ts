// The pages behind a digest's unsubscribe link, in the language the digest itself was written in
// (the guardian's locale, else the school's), so a parent who reads Spanish emails is not asked
// to confirm in English. A link too broken to name its guardian falls back to Accept-Language.
import { escapeHtml as e } from './escape.js';
import type { DigestLanguage } from './messages.js';

interface UnsubscribeWords {
  confirmTitle: string;
  confirmBody(school: string): string;
  button: string;
  doneTitle: string;
  doneBody: string;
  invalidTitle: string;
  invalidBody: string;
  errorTitle: string;
  errorBody: string;
}

const words: Record<DigestLanguage, UnsubscribeWords> = {
  en: {
    confirmTitle: 'Stop attendance emails?',
    confirmBody: (school) => `You will no longer receive attendance summaries from ${school}.`,
    button: 'Unsubscribe',
    doneTitle: 'You are unsubscribed',
    doneBody: 'You will not receive attendance summaries any more.',
    invalidTitle: 'This unsubscribe link is not valid',
    invalidBody:
      'The link may be incomplete or out of date. Copy the whole link from the latest email, or ask the school to stop the attendance emails.',
    errorTitle: 'Something went wrong',
    errorBody: 'Please try again later.',
  },
  es: {
    confirmTitle: '¿Dejar de recibir los correos de asistencia?',
    confirmBody: (school) => `Ya no recibirá los resúmenes de asistencia de ${school}.`,
    button: 'Darse de baja',
    doneTitle: 'Se ha dado de baja',
    doneBody: 'Ya no recibirá resúmenes de asistencia.',
    invalidTitle: 'Este enlace para darse de baja no es válido',
    invalidBody:
      'Puede que el enlace esté incompleto o caducado. Copie el enlace completo del último correo, o pida al centro que deje de enviarle los correos de asistencia.',
    errorTitle: 'Algo ha fallado',
    errorBody: 'Inténtelo de nuevo más tarde.',
  },
  fr: {
    confirmTitle: "Ne plus recevoir les e-mails d'assiduité ?",
    confirmBody: (school) => `Vous ne recevrez plus les résumés d'assiduité de ${school}.`,
    button: 'Se désabonner',
    doneTitle: 'Vous êtes désabonné',
    doneBody: "Vous ne recevrez plus de résumés d'assiduité.",
    invalidTitle: "Ce lien de désabonnement n'est pas valide",
    invalidBody:
      "Le lien est peut-être incomplet ou périmé. Copiez le lien entier depuis le dernier e-mail, ou demandez à l'école d'arrêter les e-mails d'assiduité.",
    errorTitle: 'Une erreur est survenue',
    errorBody: 'Veuillez réessayer plus tard.',
  },
};

export const UNSUBSCRIBE_LANGUAGES = Object.keys(words) as DigestLanguage[];

function page(language: DigestLanguage, title: string, body: string): string {
  return `<!DOCTYPE html><html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${e(title)}</title></head><body style="font-family:Arial,Helvetica,sans-serif;max-width:560px;margin:40px auto;padding:0 16px;color:#333;">
<h1 style="font-size:22px;">${e(title)}</h1>${body}</body></html>`;
}

/** The confirmation page: one button that POSTs the token (a GET never unsubscribes anyone). */
export function confirmPage(language: DigestLanguage, school: string, token: string): string {
  const w = words[language];
  const action = `?token=${encodeURIComponent(token)}`;
  return page(
    language,
    w.confirmTitle,
    `<p>${e(w.confirmBody(school))}</p>
<form method="post" action="${e(action)}"><input type="hidden" name="token" value="${e(token)}">
<button type="submit" style="padding:10px 18px;font-size:16px;">${e(w.button)}</button></form>`,
  );
}

export function donePage(language: DigestLanguage): string {
  const w = words[language];
  return page(language, w.doneTitle, `<p>${e(w.doneBody)}</p>`);
}

export function invalidLinkPage(language: DigestLanguage): string {
  const w = words[language];
  return page(language, w.invalidTitle, `<p>${e(w.invalidBody)}</p>`);
}

export function errorPage(language: DigestLanguage): string {
  const w = words[language];
  return page(language, w.errorTitle, `<p>${e(w.errorBody)}</p>`);
}
