/**
 * A zod schema read as a shape: what the interfaces generated from the operation table (REST routes,
 * openapi.json, the GraphQL schema) need to know of an input or output schema.
 */
import { z } from 'zod';

export interface Peeled {
	/** The schema under its wrappers. */
	base: z.ZodTypeAny;
	/** May be left out (optional, or has a default). */
	optional: boolean;
	/** Accepts (input) or may be (output) null. */
	nullable: boolean;
	/** The zod default, when there is one. */
	defaultValue?: unknown;
	description?: string;
}

/** Takes off optional, nullable, default, refine, transform and preprocess, keeping what they mean. */
export function peel(schema: z.ZodTypeAny): Peeled {
	const out: Peeled = { base: schema, optional: false, nullable: false };
	for (let t = schema; ; ) {
		out.description ??= t.description;
		if (t instanceof z.ZodOptional) {
			out.optional = true;
			t = t.unwrap();
		} else if (t instanceof z.ZodNullable) {
			out.nullable = true;
			t = t.unwrap();
		} else if (t instanceof z.ZodDefault) {
			out.optional = true;
			out.defaultValue = t._def.defaultValue();
			t = t.removeDefault();
		} else if (t instanceof z.ZodEffects) {
			t = t.innerType();
		} else {
			out.base = t;
			return out;
		}
	}
}

/** The object under an operation's input (refinements and preprocessing taken off). */
export function objectOf(schema: z.ZodTypeAny, where: string): z.AnyZodObject {
	const { base } = peel(schema);
	if (!(base instanceof z.ZodObject)) throw new Error(`${where}: the input is not a zod object`);
	return base;
}
