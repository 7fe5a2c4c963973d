// The words of a digest in each language the templates know. Functions take already-formatted
// values (dates, numbers) so word order can differ per language.
export interface DigestMessages {
  subject(school: string, period: string): string;
  greeting(name: string): string;
  intro(period: string): string;
  present: string;
  late: string;
  absent: string;
  excused: string;
  schoolDays(count: string): string;
  absencesHeading: string;
  noReason: string;
  excusedTag: string;
  termRate(rate: string, since: string): string;
  termRateNone: string;
  change(points: string): string;
  noChange: string;
  chronicAt(name: string, percent: string, threshold: string): string;
  chronicNear(name: string, percent: string, threshold: string): string;
  footer(school: string): string;
  unsubscribe: string;
}

const en: DigestMessages = {
  subject: (school, period) => `${school}: attendance for ${period}`,
  greeting: (name) => `Dear ${name},`,
  intro: (period) => `Here is your children's attendance for ${period}.`,
  present: 'Present',
  late: 'Late',
  absent: 'Absent',
  excused: 'Excused',
  schoolDays: (count) => `${count} school days`,
  absencesHeading: 'Days missed',
  noReason: 'no reason recorded',
  excusedTag: 'excused',
  termRate: (rate, since) => `Attendance this term (since ${since}): ${rate}`,
  termRateNone: 'Attendance this term: not enough days yet',
  change: (points) => `${points} points since the previous period`,
  noChange: 'no change since the previous period',
  chronicAt: (name, percent, threshold) =>
    `${name} has missed ${percent} of school days this term, at or above the ${threshold} level the school treats as chronic absence. Please contact the school so we can help.`,
  chronicNear: (name, percent, threshold) =>
    `${name} has missed ${percent} of school days this term, close to the ${threshold} level the school treats as chronic absence.`,
  footer: (school) => `You receive this summary because you are listed as a guardian at ${school}.`,
  unsubscribe: 'Stop these emails',
};

const es: DigestMessages = {
  subject: (school, period) => `${school}: asistencia del ${period}`,
  greeting: (name) => `Estimado/a ${name}:`,
  intro: (period) => `Esta es la asistencia de sus hijos del ${period}.`,
  present: 'Presente',
  late: 'Tarde',
  absent: 'Ausente',
  excused: 'Justificada',
  schoolDays: (count) => `${count} días lectivos`,
  absencesHeading: 'Días de ausencia',
  noReason: 'sin motivo registrado',
  excusedTag: 'justificada',
  termRate: (rate, since) => `Asistencia en el trimestre (desde el ${since}): ${rate}`,
  termRateNone: 'Asistencia en el trimestre: aún no hay días suficientes',
  change: (points) => `${points} puntos respecto al periodo anterior`,
  noChange: 'sin cambios respecto al periodo anterior',
  chronicAt: (name, percent, threshold) =>
    `${name} ha faltado al ${percent} de los días lectivos este trimestre, en o por encima del ${threshold} que el centro considera absentismo crónico. Póngase en contacto con el centro para que podamos ayudar.`,
  chronicNear: (name, percent, threshold) =>
    `${name} ha faltado al ${percent} de los días lectivos este trimestre, cerca del ${threshold} que el centro considera absentismo crónico.`,
  footer: (school) => `Recibe este resumen porque figura como tutor/a en ${school}.`,
  unsubscribe: 'Dejar de recibir estos correos',
};

const fr: DigestMessages = {
  subject: (school, period) => `${school} : assiduité du ${period}`,
  greeting: (name) => `Bonjour ${name},`,
  intro: (period) => `Voici l'assiduité de vos enfants pour la période du ${period}.`,
  present: 'Présent',
  late: 'En retard',
  absent: 'Absent',
  excused: 'Excusé',
  schoolDays: (count) => `${count} jours de classe`,
  absencesHeading: "Jours d'absence",
  noReason: 'aucun motif indiqué',
  excusedTag: 'excusée',
  termRate: (rate, since) => `Assiduité ce trimestre (depuis le ${since}) : ${rate}`,
  termRateNone: 'Assiduité ce trimestre : pas encore assez de jours',
  change: (points) => `${points} points par rapport à la période précédente`,
  noChange: 'sans changement par rapport à la période précédente',
  chronicAt: (name, percent, threshold) =>
    `${name} a manqué ${percent} des jours de classe ce trimestre, au niveau ou au-dessus du seuil de ${threshold} que l'école considère comme un absentéisme chronique. Merci de contacter l'école afin que nous puissions vous aider.`,
  chronicNear: (name, percent, threshold) =>
    `${name} a manqué ${percent} des jours de classe ce trimestre, près du seuil de ${threshold} que l'école considère comme un absentéisme chronique.`,
  footer: (school) => `Vous recevez ce résumé car vous êtes inscrit comme responsable légal à ${school}.`,
  unsubscribe: 'Ne plus recevoir ces e-mails',
};

export const messages = { en, es, fr } satisfies Record<string, DigestMessages>;
export type DigestLanguage = keyof typeof messages;
